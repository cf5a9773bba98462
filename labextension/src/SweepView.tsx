/**
 * A sweep opened from its row of the Experiments table: its trials (parameters, status, metric,
 * the best marked) and their parallel-coordinates chart.
 */
import * as React from 'react';

import { ErrorLine, useLoad } from './components';
import { api, errorText } from './request';
import { parallelCoordinates, SweepDetail } from './sweep';
import { VegaChart } from './VegaChart';

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
    return error ? <ErrorLine error={error} testId="mlops-sweep-error" /> : <span>loading…</span>;
  }
  const metric = sweep.metric;
  return (
    <div className="jp-mlops-sweep" data-testid="mlops-sweep" data-sweep={sweep.sweep_id ?? ''}>
      <div className="jp-mlops-muted">
        {sweep.mode} sweep of {sweep.trials.length} trials over {sweep.params.join(', ')}
        {metric ? `, by ${metric} (${sweep.direction})` : ''}
        {sweep.best !== null ? ` · best: trial ${sweep.best}` : ''}
      </div>
      <table className="jp-mlops-table" data-testid="mlops-sweep-trials">
        <thead>
          <tr>
            <th>trial</th>
            {sweep.params.map(name => (
              <th key={name}>{name}</th>
            ))}
            <th>status</th>
            {metric && <th>{metric}</th>}
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
              <td>{t.number}</td>
              {sweep.params.map(name => (
                <td key={name} className="jp-mlops-num">
                  {String(t.params[name] ?? '')}
                </td>
              ))}
              <td>
                <span className={`jp-mlops-badge jp-mlops-status-${t.status.toLowerCase()}`}>
                  {t.status.toLowerCase()}
                </span>
              </td>
              {metric && (
                <td className="jp-mlops-num">{t.value === null ? '' : t.value.toPrecision(4)}</td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {spec && <VegaChart spec={spec} testId="mlops-sweep-chart" />}
    </div>
  );
}
