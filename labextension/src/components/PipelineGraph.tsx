/**
 * The pipeline's steps as a Vega-Lite graph (spec: graph.ts), redrawn only when the graph or
 * the statuses change. Clicking a step calls `onSelect` with its name.
 */
import * as React from 'react';

import { dagSpec } from '../graph';
import { useTheme } from '../hooks/useTheme';
import { PipelineSummary } from '../request';
import { chartColors } from '../theme';
import { VegaChart } from './VegaChart';

export function PipelineGraph(props: {
  summary: PipelineSummary;
  statuses: Record<string, string>;
  onSelect?: (step: string) => void;
  testId?: string;
}): JSX.Element {
  const { summary, statuses, onSelect, testId = 'mlops-pipeline-graph' } = props;
  // labels, halo and status colours come from the theme: drawn again when it changes
  const theme = useTheme();
  const key = JSON.stringify([summary.layers, summary.edges, statuses, theme]);
  const spec = React.useMemo(
    () => dagSpec(summary, statuses, chartColors()),
    // the summary object changes on every compile; redraw only when the graph does
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [key]
  );
  return (
    <div
      className="jp-mlops-graph"
      data-steps={summary.steps.map(s => s.name).join(' ')}
      data-testid={`${testId}-box`}
    >
      <VegaChart
        spec={spec}
        testId={testId}
        label={`the pipeline's ${summary.steps.length} steps and the data between them`}
        onClick={datum => typeof datum.name === 'string' && onSelect?.(datum.name)}
      />
    </div>
  );
}
