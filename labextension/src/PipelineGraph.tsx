/**
 * The pipeline's steps as a Vega-Lite graph (spec: graph.ts), redrawn only when the graph or
 * the statuses change. Clicking a step calls `onSelect` with its name.
 */
import * as React from 'react';

import { dagSpec } from './graph';
import { PipelineSummary } from './request';
import { themeColor, VegaChart } from './VegaChart';

export function PipelineGraph(props: {
  summary: PipelineSummary;
  statuses: Record<string, string>;
  onSelect?: (step: string) => void;
  testId?: string;
}): JSX.Element {
  const { summary, statuses, onSelect, testId = 'mlops-pipeline-graph' } = props;
  const key = JSON.stringify([summary.layers, summary.edges, statuses]);
  const spec = React.useMemo(
    () =>
      dagSpec(summary, statuses, {
        text: themeColor('--jp-ui-font-color1', '#333'),
        edge: themeColor('--jp-border-color1', '#999'),
        background: themeColor('--jp-layout-color1', '#fff')
      }),
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
        onClick={datum => typeof datum.name === 'string' && onSelect?.(datum.name)}
      />
    </div>
  );
}
