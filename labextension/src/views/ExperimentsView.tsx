/**
 * Experiments, in the main area: the runs of an experiment (by default the one the current
 * notebook's runs go to) as a table with the width it needs: run names, the columns the user
 * chooses, a run column that stays put while the others scroll, each pipeline run's steps
 * nested under it, a sweep as one row that opens to its trials and their chart, a metric chart
 * over time, and Compare for the ticked runs.
 */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { Field, Select } from '../components/Form';
import { ErrorLine } from '../components/Lines';
import { RunName } from '../components/RunName';
import { ScrollBox } from '../components/ScrollBox';
import { StatusBadge } from '../components/StatusBadge';
import { VegaChart } from '../components/VegaChart';
import { durationText, numberText, shortTime, timeText, valueText } from '../format';
import { metricSpec } from '../charts';
import { useLoad } from '../hooks/useLoad';
import { useModel } from '../hooks/useModel';
import { MlopsModel } from '../model';
import { api, errorText, Experiment, RunRow, RunsPage } from '../request';
import { SweepView } from './SweepView';

const PAGE_SIZE = 25;
const DEFAULT_METRICS = 4;

interface Sort {
  key: string; // an MLflow order_by field: attributes.start_time, metrics.`accuracy`, …
  desc: boolean;
}

function field(kind: 'metrics' | 'params', name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `${kind}.${name}` : `${kind}.\`${name}\``;
}

export function ExperimentsView({ model }: { model: MlopsModel }): JSX.Element {
  useModel(model);
  const path = model.notebookPath ?? undefined;
  const [experiments, setExperiments] = React.useState<Experiment[]>([]);
  const [notebookExperiment, setNotebookExperiment] = React.useState<string | null>(null);
  const [chosenId, setChosenId] = React.useState('');
  const [sort, setSort] = React.useState<Sort>({ key: 'attributes.start_time', desc: true });
  const [filterText, setFilterText] = React.useState('');
  const [filter, setFilter] = React.useState('');
  const [tokens, setTokens] = React.useState<string[]>(['']); // page tokens, one per page seen
  const [page, setPage] = React.useState<RunsPage | null>(null);
  const [opened, setOpened] = React.useState<Record<string, RunRow[] | null>>({});
  const [openSweeps, setOpenSweeps] = React.useState<string[]>([]);
  const [selected, setSelected] = React.useState<RunRow[]>([]);
  const [columns, setColumns] = React.useState<string[] | null>(null); // null: the defaults
  const [metric, setMetric] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [reloads, setReloads] = React.useState(0);

  useLoad(
    () => api.experiments(path),
    answer => {
      setExperiments(answer.experiments);
      setNotebookExperiment(answer.notebook_experiment ?? null);
    },
    e => setError(errorText(e)),
    [path, model.runsVersion, reloads]
  );
  // the user's choice, else the current notebook's experiment, else the newest
  const byName = experiments.find(e => e.name === notebookExperiment);
  const experimentId = experiments.some(e => e.id === chosenId)
    ? chosenId
    : (byName?.id ?? experiments[0]?.id ?? '');
  const experiment = experiments.find(e => e.id === experimentId);

  // back to the first page whenever the question changes
  React.useEffect(() => setTokens(['']), [experimentId, sort, filter]);
  const token = tokens[tokens.length - 1];
  useLoad(
    () =>
      experimentId
        ? api.runs(experimentId, {
            max_results: PAGE_SIZE,
            page_token: token || undefined,
            order_by: `${sort.key} ${sort.desc ? 'DESC' : 'ASC'}`,
            filter: filter || undefined
          })
        : null,
    p => {
      setPage(p);
      setError(null);
    },
    e => {
      setPage(null); // no stale rows under the error
      setError(errorText(e));
    },
    [experimentId, token, sort, filter, model.runsVersion, reloads]
  );

  const rows = page?.runs ?? [];
  const metricNames = [...new Set(rows.flatMap(r => Object.keys(r.metrics)))].sort();
  const paramNames = [...new Set(rows.flatMap(r => Object.keys(r.params)))].sort();
  const every = [...metricNames.map(m => `m:${m}`), ...paramNames.map(p => `p:${p}`)];
  const shown = (columns ?? metricNames.slice(0, DEFAULT_METRICS).map(m => `m:${m}`)).filter(c =>
    every.includes(c)
  );
  const chartMetric = metricNames.includes(metric) ? metric : (metricNames[0] ?? '');

  const isSelected = (id: string) => selected.some(x => x.run_id === id);
  const toggle = (run: RunRow) =>
    setSelected(s =>
      isSelected(run.run_id) ? s.filter(x => x.run_id !== run.run_id) : [...s, run]
    );
  const openSteps = (id: string) => {
    if (id in opened) {
      setOpened(({ [id]: _, ...rest }) => rest);
      return;
    }
    setOpened(o => ({ ...o, [id]: null }));
    api
      .mlflowRun(id)
      .then(detail => setOpened(o => (id in o ? { ...o, [id]: detail.children } : o)))
      .catch(e => setError(errorText(e)));
  };

  const toggleSweep = (id: string) =>
    setOpenSweeps(o => (o.includes(id) ? o.filter(x => x !== id) : [...o, id]));

  const header = (label: string, key: string | null, className = '') => {
    const sorted = key !== null && sort.key === key;
    return (
      <th
        className={className}
        aria-sort={sorted ? (sort.desc ? 'descending' : 'ascending') : undefined}
        scope="col"
      >
        {key === null ? (
          label
        ) : (
          <button
            type="button"
            className="jp-mlops-sort"
            data-testid={`mlops-runs-sort-${label}`}
            title={`sort by ${label}`}
            onClick={() => setSort(s => ({ key, desc: s.key === key ? !s.desc : true }))}
          >
            {label}
            {sorted ? (sort.desc ? ' ▾' : ' ▴') : ''}
          </button>
        )}
      </th>
    );
  };

  const cells = (r: RunRow) =>
    shown.map(c => (
      <td key={c} className="jp-mlops-num">
        {c.startsWith('m:') ? numberText(r.metrics[c.slice(2)]) : valueText(r.params[c.slice(2)])}
      </td>
    ));

  return (
    <div className="jp-mlops-view jp-mlops-experiments" data-testid="mlops-experiments-view">
      <div className="jp-mlops-toolbar" role="toolbar" aria-label="runs">
        <Field label="experiment">
          <Select
            testId="mlops-experiment-select"
            label="experiment"
            value={experimentId}
            empty="no experiments yet"
            choices={experiments.map(e => ({ value: e.id, label: e.name }))}
            onChange={setChosenId}
          />
        </Field>
        {path && experiment?.name === notebookExperiment && (
          <span className="jp-mlops-muted" data-testid="mlops-experiment-of">
            the runs of {path}
          </span>
        )}
        <input
          className="jp-mlops-input jp-mlops-grow"
          data-testid="mlops-runs-filter"
          aria-label="filter runs (MLflow search syntax)"
          placeholder="filter, e.g. metrics.accuracy > 0.9"
          value={filterText}
          onChange={e => setFilterText(e.target.value)}
          onKeyDown={e => e.key === 'Enter' && setFilter(filterText.trim())}
        />
        <Button
          small
          className="jp-mlops-button"
          data-testid="mlops-runs-filter-apply"
          onClick={() => setFilter(filterText.trim())}
        >
          Filter
        </Button>
        <Button
          small
          className="jp-mlops-button"
          data-testid="mlops-runs-reload"
          onClick={() => setReloads(r => r + 1)}
        >
          Reload
        </Button>
        <Button
          small
          className="jp-mlops-button jp-mod-accept"
          data-testid="mlops-runs-compare"
          disabled={selected.length < 2}
          title="Open the ticked runs side by side"
          onClick={() => model.open({ view: 'compare', runs: selected.map(r => r.run_id) })}
        >
          Compare {selected.length >= 2 ? selected.length : ''} runs
        </Button>
      </div>
      <details className="jp-mlops-columns" data-testid="mlops-runs-columns">
        <summary>
          Columns ({shown.length} of {every.length})
        </summary>
        <fieldset>
          <legend className="jp-mlops-muted">metrics and parameters shown in the table</legend>
          {every.map(c => (
            <label key={c} className="jp-mlops-column-choice">
              <input
                type="checkbox"
                data-testid={`mlops-column-${c}`}
                checked={shown.includes(c)}
                onChange={e =>
                  setColumns(e.target.checked ? [...shown, c] : shown.filter(x => x !== c))
                }
              />
              {c.startsWith('m:') ? c.slice(2) : `${c.slice(2)} (parameter)`}
            </label>
          ))}
        </fieldset>
      </details>
      <ErrorLine error={error} testId="mlops-runs-error" />
      <ScrollBox label="runs" className="jp-mlops-runs-box">
        <table
          className="jp-mlops-table jp-mlops-runs jp-mlops-sticky"
          data-testid="mlops-runs-table"
          aria-label={`runs of experiment ${experiment?.name ?? ''}`}
        >
          <thead>
            <tr>
              {header('run', 'attributes.run_name', 'jp-mlops-stick')}
              {header('status', 'attributes.status')}
              {header('start', 'attributes.start_time')}
              {header('duration', null, 'jp-mlops-num')}
              {shown.map(c => (
                <React.Fragment key={c}>
                  {header(
                    c.slice(2),
                    field(c.startsWith('m:') ? 'metrics' : 'params', c.slice(2)),
                    'jp-mlops-num'
                  )}
                </React.Fragment>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={4 + shown.length} className="jp-mlops-muted">
                  {page ? 'no runs' : error ? '' : 'loading…'}
                </td>
              </tr>
            )}
            {rows.map(r => (
              <React.Fragment key={r.run_id}>
                <tr
                  data-testid="mlops-run-row"
                  data-run-id={r.run_id}
                  data-nb2pipe-run={r.pipeline_run ?? ''}
                  data-kind={r.kind}
                  className={isSelected(r.run_id) ? 'jp-mod-selected' : ''}
                >
                  <th scope="row" className="jp-mlops-stick">
                    <span className="jp-mlops-runcell">
                      <input
                        type="checkbox"
                        data-testid={`mlops-run-select-${r.run_id}`}
                        checked={isSelected(r.run_id)}
                        onChange={() => toggle(r)}
                        aria-label={`compare ${r.name}`}
                      />
                      {r.kind === 'pipeline' ? (
                        <button
                          type="button"
                          className="jp-mlops-disclose"
                          data-testid={`mlops-run-steps-${r.run_id}`}
                          aria-expanded={r.run_id in opened}
                          aria-label={`the steps of ${r.name}`}
                          onClick={() => openSteps(r.run_id)}
                        >
                          {r.run_id in opened ? '▾' : '▸'}
                        </button>
                      ) : r.kind === 'sweep' ? (
                        <button
                          type="button"
                          className="jp-mlops-disclose"
                          data-testid={`mlops-run-trials-${r.run_id}`}
                          aria-expanded={openSweeps.includes(r.run_id)}
                          aria-label={`the trials of ${r.name}`}
                          onClick={() => toggleSweep(r.run_id)}
                        >
                          {openSweeps.includes(r.run_id) ? '▾' : '▸'}
                        </button>
                      ) : (
                        <span className="jp-mlops-disclose" />
                      )}
                      <RunName run={r} testId={`mlops-run-name-${r.run_id}`} />
                    </span>
                  </th>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td className="jp-mlops-nowrap" title={timeText(r.start)}>
                    {shortTime(r.start)}
                  </td>
                  <td className="jp-mlops-num">{durationText(r.duration)}</td>
                  {cells(r)}
                </tr>
                {(opened[r.run_id] ?? []).map(c => (
                  <tr
                    key={c.run_id}
                    className="jp-mlops-step-row"
                    data-testid="mlops-step-run-row"
                    data-parent={r.run_id}
                    data-step={c.step ?? ''}
                  >
                    <th scope="row" className="jp-mlops-stick jp-mlops-nested">
                      <span className="jp-mlops-step-name" title={`step run ${c.run_id}`}>
                        {c.step ?? c.name}
                      </span>
                    </th>
                    <td>
                      <StatusBadge status={c.status} />
                    </td>
                    <td />
                    <td className="jp-mlops-num">
                      {c.status === 'cached' ? '' : durationText(c.duration)}
                    </td>
                    {cells(c)}
                  </tr>
                ))}
                {openSweeps.includes(r.run_id) && (
                  <tr className="jp-mlops-step-row" data-testid="mlops-sweep-row">
                    <td colSpan={4 + shown.length} className="jp-mlops-nested">
                      <SweepView runId={r.run_id} />
                    </td>
                  </tr>
                )}
              </React.Fragment>
            ))}
          </tbody>
        </table>
      </ScrollBox>
      <div className="jp-mlops-toolbar">
        <Button
          small
          className="jp-mlops-button"
          data-testid="mlops-runs-prev"
          disabled={tokens.length <= 1}
          onClick={() => setTokens(t => t.slice(0, -1))}
        >
          ‹ Prev
        </Button>
        <span className="jp-mlops-muted" data-testid="mlops-runs-page">
          page {tokens.length}
        </span>
        <Button
          small
          className="jp-mlops-button"
          data-testid="mlops-runs-next"
          disabled={!page?.next_page_token}
          onClick={() => page?.next_page_token && setTokens(t => [...t, page.next_page_token!])}
        >
          Next ›
        </Button>
      </div>
      {metricNames.length > 0 && (
        <section className="jp-mlops-section" aria-label="a metric over time">
          <Field label="metric over time">
            <Select
              testId="mlops-metric-select"
              label="metric over time"
              value={chartMetric}
              choices={metricNames}
              onChange={setMetric}
            />
          </Field>
          <MetricChart rows={rows} metric={chartMetric} />
        </section>
      )}
    </div>
  );
}

function MetricChart({ rows, metric }: { rows: RunRow[]; metric: string }): JSX.Element {
  const spec = React.useMemo(() => metricSpec(rows, metric), [rows, metric]);
  return (
    <VegaChart spec={spec} testId="mlops-metric-chart" label={`${metric} of each run over time`} />
  );
}
