/**
 * A sweep opened from its row of the Experiments table: its trials (parameters, status, metric,
 * the best marked) and their parallel-coordinates chart.
 */
import * as React from 'react';

import { ErrorLine } from '../components/Lines';
import { RunName } from '../components/RunName';
import { StatusBadge } from '../components/StatusBadge';
import { VegaChart } from '../components/VegaChart';
import { numberText, valueText } from '../format';
import { useLoad } from '../hooks/useLoad';
import { api, errorText } from '../request';
import { parallelCoordinates, SweepDetail, sweepLine } from '../sweep';

export function SweepView(props: { runId: string }): JSX.Element {
  const [sweep, setSweep] = React.useState<SweepDetail | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  useLoad(
    () => api.sweep(props.runId),
    setSweep,
    e => setError(errorText(e)),
    [props.runId]
  );
  const spec = React.useMemo(() => (sweep ? parallelCoordinates(sweep) : null), [sweep]);
  if (!sweep) {
    return error ? (
      <ErrorLine error={error} testId="mlops-sweep-error" />
    ) : (
      <span className="jp-mlops-muted">loading…</span>
    );
  }
  const { metric } = sweep;
  return (
    <div className="jp-mlops-sweep" data-testid="mlops-sweep" data-sweep={sweep.sweep_id ?? ''}>
      <div className="jp-mlops-muted" data-testid="mlops-sweep-line">
        {sweepLine(sweep)}
      </div>
      <table
        className="jp-mlops-table"
        data-testid="mlops-sweep-trials"
        aria-label={`the trials of sweep ${sweep.sweep_id ?? ''}`}
      >
        <thead>
          <tr>
            <th scope="col" className="jp-mlops-num">
              trial
            </th>
            <th scope="col">run</th>
            {sweep.params.map(name => (
              <th scope="col" key={name} className="jp-mlops-num">
                {name}
              </th>
            ))}
            <th scope="col">status</th>
            {metric && (
              <th scope="col" className="jp-mlops-num">
                {metric}
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {sweep.trials.map(t => (
            <tr
              key={t.run_id}
              data-testid="mlops-sweep-trial"
              data-trial={t.number ?? ''}
              data-best={String(t.best)}
              className={t.best ? 'jp-mod-selected' : ''}
            >
              <td className="jp-mlops-num">
                {t.number}
                {t.best && (
                  <span className="jp-mlops-chip" title="the best trial">
                    best
                  </span>
                )}
              </td>
              <td>
                <RunName run={{ run_id: t.run_id, name: t.name }} />
              </td>
              {sweep.params.map(name => (
                <td key={name} className="jp-mlops-num">
                  {valueText(t.params[name])}
                </td>
              ))}
              <td>
                <StatusBadge status={t.status} />
              </td>
              {metric && <td className="jp-mlops-num">{numberText(t.value)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
      {spec && (
        <VegaChart
          spec={spec}
          testId="mlops-sweep-chart"
          label={`the trials of the sweep: ${sweep.params.join(', ')} against ${metric ?? 'the value'}`}
        />
      )}
    </div>
  );
}
