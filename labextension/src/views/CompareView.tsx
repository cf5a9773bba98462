/**
 * Compare, in the main area: two or more runs side by side, each column headed by the run's
 * name (its id one click away); the parameters that differ highlighted, then the metrics and
 * the steps; and a chart per metric, each run in its own colour.
 */
import * as React from 'react';

import { Check } from '../components/Form';
import { ErrorLine } from '../components/Lines';
import { RunName } from '../components/RunName';
import { ScrollBox } from '../components/ScrollBox';
import { VegaChart } from '../components/VegaChart';
import { ComparedRun, compareRows, CompareRow } from '../compare';
import { compareSpec } from '../charts';
import { useLoad } from '../hooks/useLoad';
import { api, errorText, MlflowRunDetail } from '../request';

const SECTIONS: CompareRow['section'][] = ['parameters', 'metrics', 'steps'];

function compared(detail: MlflowRunDetail): ComparedRun {
  const { run, children } = detail;
  return {
    run_id: run.run_id,
    name: run.name,
    params: run.params,
    metrics: run.metrics,
    steps: Object.fromEntries(children.map(c => [c.step ?? c.name, c]))
  };
}

export function CompareView({ runIds }: { runIds: string[] }): JSX.Element {
  const [details, setDetails] = React.useState<MlflowRunDetail[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [onlyChanged, setOnlyChanged] = React.useState(false);
  const key = runIds.join(',');
  useLoad(
    () => {
      setDetails(null);
      return runIds.length >= 2 ? Promise.all(runIds.map(id => api.mlflowRun(id))) : null;
    },
    found => {
      setDetails(found);
      setError(null);
    },
    e => setError(errorText(e)),
    [key]
  );

  if (runIds.length < 2) {
    return (
      <div className="jp-mlops-view" data-testid="mlops-compare-view">
        <p className="jp-mlops-hint">
          Tick two or more runs in Experiments, then press Compare to see them side by side.
        </p>
      </div>
    );
  }
  if (!details) {
    return (
      <div className="jp-mlops-view" data-testid="mlops-compare-view">
        <ErrorLine error={error} testId="mlops-compare-error" />
        {!error && <p className="jp-mlops-hint">loading {runIds.length} runs…</p>}
      </div>
    );
  }
  const runs = details.map(compared);
  const rows = compareRows(runs).filter(r => !onlyChanged || r.changed);
  return (
    <div className="jp-mlops-view" data-testid="mlops-compare-view">
      <div className="jp-mlops-toolbar">
        <Check
          label="only what differs"
          testId="mlops-compare-only-changed"
          checked={onlyChanged}
          onChange={setOnlyChanged}
        />
      </div>
      <ScrollBox label="compared runs" testId="mlops-compare">
        <table
          className="jp-mlops-table jp-mlops-compare jp-mlops-sticky"
          aria-label="runs side by side"
        >
          <thead>
            <tr>
              <th scope="col" className="jp-mlops-stick">
                <span className="jp-mlops-muted">{runs.length} runs</span>
              </th>
              {runs.map((r, i) => (
                <th key={r.run_id} scope="col" data-testid={`mlops-compare-column-${i}`}>
                  <RunName run={r} />
                </th>
              ))}
            </tr>
          </thead>
          {SECTIONS.map(section => {
            const part = rows.filter(r => r.section === section);
            if (part.length === 0) {
              return null;
            }
            return (
              <tbody key={section}>
                <tr>
                  <th colSpan={runs.length + 1} scope="colgroup" className="jp-mlops-subhead">
                    {section}
                  </th>
                </tr>
                {part.map(row => (
                  <tr
                    key={`${section}-${row.key}`}
                    className={row.changed ? 'jp-mlops-differs' : ''}
                    data-testid="mlops-compare-row"
                    data-section={section}
                    data-key={row.key}
                    data-changed={String(row.changed)}
                  >
                    <th scope="row" className="jp-mlops-stick" title={row.key}>
                      {row.key}
                      {row.changed && <span className="jp-mlops-visually-hidden"> (differs)</span>}
                    </th>
                    {row.values.map((v, i) => (
                      <td key={i} className="jp-mlops-num">
                        {v}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            );
          })}
        </table>
      </ScrollBox>
      <CompareChart runs={runs} />
    </div>
  );
}

function CompareChart({ runs }: { runs: ComparedRun[] }): JSX.Element | null {
  const spec = React.useMemo(() => compareSpec(runs), [runs]);
  if (!runs.some(r => Object.keys(r.metrics).length > 0)) {
    return null;
  }
  return (
    <VegaChart
      spec={spec}
      testId="mlops-compare-chart"
      label="each metric of the compared runs, one bar per run"
    />
  );
}
