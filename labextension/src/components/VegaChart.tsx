/**
 * A Vega-Lite chart in React: the same specs the server sends render in a notebook output.
 *
 * The chart follows its container's width (the sidebar can be resized, and a hidden panel has
 * no width until it is shown) and JupyterLab's theme: its colours are read when it is drawn,
 * and it is drawn again when the user switches theme.
 */
import * as React from 'react';
import embed, { Result, VisualizationSpec } from 'vega-embed';

import { useTheme } from '../hooks/useTheme';
import { chartColors, vegaConfig } from '../theme';

export interface VegaChartProps {
  spec: Record<string, unknown> | VisualizationSpec;
  testId: string;
  /** Called with the datum of a clicked mark, when it has one. */
  onClick?: (datum: Record<string, unknown>) => void;
  /** What the chart shows, for assistive technology. */
  label: string;
}

const COMPOSED = ['hconcat', 'vconcat', 'concat', 'facet', 'repeat'];

export function VegaChart({ spec, testId, onClick, label }: VegaChartProps): JSX.Element {
  const theme = useTheme();
  const host = React.useRef<HTMLDivElement>(null);
  const [width, setWidth] = React.useState(0);
  const [problem, setProblem] = React.useState<string | null>(null);
  const click = React.useRef(onClick);
  click.current = onClick;

  React.useEffect(() => {
    const node = host.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(entries => {
      const w = Math.floor(entries[0].contentRect.width / 10) * 10;
      setWidth(current => (w > 0 && w !== current ? w : current));
    });
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  React.useEffect(() => {
    const node = host.current;
    if (!node || width === 0) {
      return;
    }
    let result: Result | null = null;
    let cancelled = false;
    const sized: Record<string, any> = { ...(spec as Record<string, unknown>) };
    const composed = COMPOSED.some(key => key in sized);
    if (!composed && (sized.width === undefined || sized.width === 'container')) {
      // `usermeta.minWidth`: the width under which the chart would squeeze (a wide graph)
      sized.width = Math.max(width - 20, Number(sized.usermeta?.minWidth ?? 0), 120);
      sized.autosize = { type: 'fit-x', contains: 'padding' };
    }
    embed(node, sized as VisualizationSpec, {
      actions: false,
      renderer: 'svg',
      config: vegaConfig(chartColors()) as any
    })
      .then(r => {
        if (cancelled) {
          r.finalize();
          return;
        }
        result = r;
        setProblem(null);
        r.view.addEventListener('click', (_event, item) => {
          const datum = (item as any)?.datum;
          if (datum && click.current) {
            click.current(datum);
          }
        });
      })
      .catch(error => {
        if (!cancelled) {
          setProblem(String(error?.message ?? error));
        }
      });
    return () => {
      cancelled = true;
      result?.finalize();
    };
  }, [spec, width, theme]);

  return (
    <div className="jp-mlops-chart" data-testid={testId} role="figure" aria-label={label}>
      <div ref={host} className="jp-mlops-chart-host" />
      {problem && <div className="jp-mlops-error">chart: {problem}</div>}
    </div>
  );
}
