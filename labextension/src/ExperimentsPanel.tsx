/**
 * Experiments: the experiments, a paged runs table (sort by clicking a header, MLflow filter
 * syntax), a chart of one metric across the runs and a side-by-side comparison of two runs.
 */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ErrorLine, Select, useLoad } from './components';
import { VEGA_LITE_SCHEMA } from './graph';
import { api, errorText, Experiment, MlflowRunDetail, RunRow, RunsPage } from './request';
import { newest, startText } from './runs';
import { useMlops } from './state';
import { SweepView } from './SweepView';
import { VegaChart } from './VegaChart';

const PAGE_SIZE = 20;
const SHOWN_METRICS = 3;

interface Sort {
  key: string; // an MLflow order_by field: attributes.start_time, metrics.`accuracy`, …
  desc: boolean;
}

function metricField(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `metrics.${name}` : `metrics.\`${name}\``;
}

/** A pipeline run is named by its nb2pipe run id (the pipeline is the experiment). */
function runLabel(run: RunRow): string {
  return run.tags['nb2pipe.run_id'] ?? run.tags['nb2pipe.step'] ?? run.name;
}

/** "15:04:05" for today, "11-21 15:04" before. */
function shortTime(start: RunRow['start']): string {
  if (typeof start !== 'number') {
    return startText(start);
  }
  const date = new Date(start < 1e12 ? start * 1000 : start);
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (date.toDateString() === new Date().toDateString()) {
    return `${time}:${pad(date.getSeconds())}`;
  }
  return `${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

export function durationText(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number') {
    return '';
  }
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}

export function ExperimentsPanel(): JSX.Element {
  const { runsVersion } = useMlops();
  const [experiments, setExperiments] = React.useState<Experiment[]>([]);
  const [experimentId, setExperimentId] = React.useState<string>('');
  const [sort, setSort] = React.useState<Sort>({ key: 'attributes.start_time', desc: true });
  const [filterText, setFilterText] = React.useState('');
  const [filter, setFilter] = React.useState('');
  const [tokens, setTokens] = React.useState<string[]>(['']); // page tokens, one per page seen
  const [page, setPage] = React.useState<RunsPage | null>(null);
  // pipeline runs opened to show their step runs (loaded on opening)
  const [opened, setOpened] = React.useState<Record<string, RunRow[] | null>>({});
  // the runs ticked for comparison, kept whole: they stay comparable on another page
  const [selected, setSelected] = React.useState<RunRow[]>([]);
  const [metric, setMetric] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [reloads, setReloads] = React.useState(0);
  const chosen = React.useRef(false);

  React.useEffect(() => {
    api
      .experiments()
      .then(({ experiments }) => {
        setExperiments(experiments);
        // follow the most recently updated experiment until the user picks one
        setExperimentId(current =>
          chosen.current && experiments.some(e => e.id === current)
            ? current
            : (newest(experiments)?.id ?? '')
        );
      })
      .catch(e => setError(errorText(e)));
  }, [runsVersion, reloads]);

  // back to the first page whenever the question changes
  React.useEffect(() => setTokens(['']), [experimentId, sort, filter]);

  const token = tokens[tokens.length - 1];
  useLoad(
    () => {
      if (!experimentId) {
        setPage(null);
        return null;
      }
      return api.runs(experimentId, {
        max_results: PAGE_SIZE,
        page_token: token || undefined,
        order_by: `${sort.key} ${sort.desc ? 'DESC' : 'ASC'}`,
        filter: filter || undefined
      });
    },
    p => {
      setPage(p);
      setError(null);
    },
    e => {
      setPage(null); // no stale rows under the error
      setError(errorText(e));
    },
    [experimentId, token, sort, filter, runsVersion, reloads]
  );

  // the server lists pipeline runs only: a page of 20 is 20 pipeline runs
  const rows = page?.runs ?? [];
  const metricNames = [...new Set(rows.flatMap(r => Object.keys(r.metrics)))].sort();
  const chartMetric = metricNames.includes(metric) ? metric : (metricNames[0] ?? '');
  const shownMetrics = [chartMetric, ...metricNames.filter(m => m !== chartMetric)]
    .filter(Boolean)
    .slice(0, SHOWN_METRICS);

  const header = (label: string, key: string, className = '') => (
    <th
      className={`jp-mlops-sortable ${className}`}
      data-testid={`mlops-runs-sort-${label}`}
      onClick={() => setSort(s => ({ key, desc: s.key === key ? !s.desc : true }))}
      title={`sort by ${label}`}
    >
      {label}
      {sort.key === key ? (sort.desc ? ' ▾' : ' ▴') : ''}
    </th>
  );

  const toggle = (run: RunRow) =>
    setSelected(s =>
      s.some(x => x.run_id === run.run_id)
        ? s.filter(x => x.run_id !== run.run_id)
        : [...s, run].slice(-2)
    );
  const isSelected = (id: string) => selected.some(x => x.run_id === id);

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

  return (
    <div className="jp-mlops-experiments">
      <div className="jp-mlops-toolbar">
        <Select
          testId="mlops-experiment-select"
          value={experimentId}
          empty="no experiments yet"
          choices={experiments.map(e => ({ value: e.id, label: e.name }))}
          onChange={value => {
            chosen.current = true;
            setExperimentId(value);
          }}
        />
        <Button small
          className="jp-mlops-button"
          data-testid="mlops-runs-reload"
          onClick={() => setReloads(r => r + 1)}
        >
          Reload
        </Button>
      </div>
      <div className="jp-mlops-toolbar">
        <input
          className="jp-mlops-input jp-mlops-grow"
          data-testid="mlops-runs-filter"
          placeholder="filter, e.g. metrics.accuracy > 0.9"
          value={filterText}
          onChange={e => setFilterText(e.target.value)}
          onKeyDown={e => e.key === 'Enter' && setFilter(filterText.trim())}
        />
        <Button small
          className="jp-mlops-button"
          data-testid="mlops-runs-filter-apply"
          onClick={() => setFilter(filterText.trim())}
        >
          Filter
        </Button>
      </div>
      <ErrorLine error={error} testId="mlops-runs-error" />
      <div className="jp-mlops-scroll">
        <table className="jp-mlops-table jp-sortable-table" data-testid="mlops-runs-table">
          <thead>
            <tr className="jp-sortable-table-tr">
              <th />
              {header('run', 'attributes.run_name')}
              {header('status', 'attributes.status')}
              {header('start', 'attributes.start_time', 'jp-mlops-wide-only')}
              {shownMetrics.map(m => (
                <React.Fragment key={m}>{header(m, metricField(m))}</React.Fragment>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={4 + shownMetrics.length} className="jp-mlops-muted">
                  {page ? 'no runs' : error ? '' : 'loading…'}
                </td>
              </tr>
            )}
            {rows.map(r => (
              <React.Fragment key={r.run_id}>
                <tr
                  data-testid="mlops-run-row"
                  data-run-id={r.run_id}
                  data-nb2pipe-run={r.tags['nb2pipe.run_id'] ?? ''}
                  className={`jp-sortable-table-tr${isSelected(r.run_id) ? ' jp-mod-selected' : ''}`}
                >
                  <td className="jp-mlops-nowrap">
                    <input
                      type="checkbox"
                      data-testid={`mlops-run-select-${r.run_id}`}
                      checked={isSelected(r.run_id)}
                      onChange={() => toggle(r)}
                      title="select two runs to compare them"
                    />
                    <a
                      href="#"
                      className="jp-mlops-disclose"
                      data-testid={`mlops-run-steps-${r.run_id}`}
                      title="show the run of every step"
                      onClick={e => {
                        e.preventDefault();
                        openSteps(r.run_id);
                      }}
                    >
                      {r.run_id in opened ? '▾' : '▸'}
                    </a>
                  </td>
                  <td className="jp-mlops-runname" title={`${r.name} (MLflow run ${r.run_id})`}>
                    {runLabel(r)}
                  </td>
                  <td>
                    <span className={`jp-mlops-badge jp-mlops-status-${r.status.toLowerCase()}`}>
                      {r.status.toLowerCase()}
                    </span>
                  </td>
                  <td className="jp-mlops-nowrap jp-mlops-wide-only" title={startText(r.start)}>
                    {shortTime(r.start)}
                  </td>
                  {shownMetrics.map(m => (
                    <td key={m} className="jp-mlops-num">
                      {typeof r.metrics[m] === 'number' ? r.metrics[m].toPrecision(4) : ''}
                    </td>
                  ))}
                </tr>
                {r.run_id in opened &&
                  (opened[r.run_id] ?? []).map(c => (
                    <tr
                      key={c.run_id}
                      className="jp-sortable-table-tr jp-mlops-step-row"
                      data-testid="mlops-step-run-row"
                      data-parent={r.run_id}
                    >
                      <td />
                      <td className="jp-mlops-runname" title={`MLflow run ${c.run_id}`}>
                        {c.tags['nb2pipe.step'] ?? c.name}
                      </td>
                      <td>
                        <span
                          className={`jp-mlops-badge jp-mlops-status-${c.status.toLowerCase()}`}
                        >
                          {c.status.toLowerCase()}
                        </span>
                      </td>
                      <td className="jp-mlops-nowrap jp-mlops-wide-only">
                        {durationText(c.duration)}
                      </td>
                      {shownMetrics.map(m => (
                        <td key={m} className="jp-mlops-num">
                          {typeof c.metrics[m] === 'number' ? c.metrics[m].toPrecision(4) : ''}
                        </td>
                      ))}
                    </tr>
                  ))}
                {r.run_id in opened && r.tags['nb2pipe.kind'] === 'sweep' && (
                  <tr className="jp-mlops-step-row">
                    <td />
                    <td colSpan={3 + shownMetrics.length}>
                      <SweepView runId={r.run_id} />
                    </td>
                  </tr>
                )}
              </React.Fragment>
            ))}
          </tbody>
        </table>
      </div>
      <div className="jp-mlops-toolbar">
        <Button small
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
        <Button small
          className="jp-mlops-button"
          data-testid="mlops-runs-next"
          disabled={!page?.next_page_token}
          onClick={() => page?.next_page_token && setTokens(t => [...t, page.next_page_token!])}
        >
          Next ›
        </Button>
      </div>

      {metricNames.length > 0 && (
        <details className="jp-mlops-section" open>
          <summary>Metric</summary>
          <Select
            testId="mlops-metric-select"
            value={chartMetric}
            choices={metricNames}
            onChange={setMetric}
          />
          <MetricChart rows={rows} metric={chartMetric} />
        </details>
      )}

      <details className="jp-mlops-section" open>
        <summary>Compare</summary>
        {selected.length < 2 ? (
          <p className="jp-mlops-hint">Tick two runs to compare them side by side.</p>
        ) : (
          <RunComparison
            left={selected[0]}
            right={selected[1]}
            ids={[selected[0].run_id, selected[1].run_id]}
          />
        )}
      </details>
    </div>
  );
}

function MetricChart({ rows, metric }: { rows: RunRow[]; metric: string }): JSX.Element {
  const spec = React.useMemo(() => {
    const values = rows
      .filter(r => typeof r.metrics[metric] === 'number')
      .map(r => ({
        run: runLabel(r),
        when: shortTime(r.start),
        start: startText(r.start),
        value: r.metrics[metric]
      }))
      .reverse();
    return {
      $schema: VEGA_LITE_SCHEMA,
      height: 140,
      data: { values },
      mark: { type: 'line', point: { size: 50 }, tooltip: true },
      encoding: {
        x: {
          field: 'when',
          type: 'ordinal',
          sort: null,
          title: 'run start',
          axis: { labelAngle: -30, labelLimit: 120 }
        },
        y: {
          field: 'value',
          type: 'quantitative',
          title: metric,
          scale: { zero: false, nice: true },
          axis: { format: '~g', tickCount: 5 }
        },
        tooltip: [
          { field: 'run' },
          { field: 'start' },
          { field: 'value', title: metric, format: '.4g' }
        ]
      }
    };
  }, [rows, metric]);
  return <VegaChart spec={spec} testId="mlops-metric-chart" />;
}

function RunComparison(props: {
  left: RunRow | null;
  right: RunRow | null;
  ids: [string, string];
}): JSX.Element {
  const [details, setDetails] = React.useState<(MlflowRunDetail | null)[]>([null, null]);
  const [error, setError] = React.useState<string | null>(null);
  const [a, b] = props.ids;

  useLoad(
    () => Promise.all([api.mlflowRun(a), api.mlflowRun(b)]),
    setDetails,
    e => setError(errorText(e)),
    [a, b]
  );

  const runs = details.map((d, i) => d?.run ?? (i === 0 ? props.left : props.right));
  if (!runs[0] || !runs[1]) {
    return <p className="jp-mlops-hint">{error ?? 'loading…'}</p>;
  }
  const [l, r] = runs as RunRow[];
  const section = (title: string, left: Record<string, unknown>, right: Record<string, unknown>) => {
    const keys = [...new Set([...Object.keys(left ?? {}), ...Object.keys(right ?? {})])].sort();
    if (keys.length === 0) {
      return null;
    }
    return (
      <>
        <tr>
          <th colSpan={3} className="jp-mlops-subhead">
            {title}
          </th>
        </tr>
        {keys.map(k => {
          const x = show(left?.[k]);
          const y = show(right?.[k]);
          return (
            <tr key={`${title}-${k}`} className={x !== y ? 'jp-mlops-differs' : ''}>
              <td>{k}</td>
              <td className="jp-mlops-num">{x}</td>
              <td className="jp-mlops-num">{y}</td>
            </tr>
          );
        })}
      </>
    );
  };
  const steps = (d: MlflowRunDetail | null) =>
    Object.fromEntries(
      (d?.children ?? []).map(c => [
        c.tags?.['nb2pipe.step'] ?? c.name,
        `${(c.tags?.['nb2pipe.status'] ?? c.status).toLowerCase()} ${durationText(c.duration)}`
      ])
    );
  return (
    <div data-testid="mlops-compare">
      <ErrorLine error={error} />
      <div className="jp-mlops-scroll">
      <table className="jp-mlops-table jp-mlops-compare">
        <thead>
          <tr>
            <th />
            <th data-testid="mlops-compare-left">{runLabel(l)}</th>
            <th data-testid="mlops-compare-right">{runLabel(r)}</th>
          </tr>
        </thead>
        <tbody>
          {section('metrics', l.metrics, r.metrics)}
          {section('parameters', l.params, r.params)}
          {section('steps', steps(details[0]), steps(details[1]))}
        </tbody>
      </table>
      </div>
      <CompareChart left={l} right={r} />
    </div>
  );
}

function CompareChart({ left, right }: { left: RunRow; right: RunRow }): JSX.Element | null {
  const spec = React.useMemo(() => {
    const values = [left, right].flatMap(run =>
      Object.entries(run.metrics)
        .filter(([, v]) => typeof v === 'number')
        .map(([metric, value]) => ({ metric, value, run: runLabel(run) }))
    );
    // one row per metric, each on its own scale: accuracy and duration do not share an axis
    return {
      $schema: VEGA_LITE_SCHEMA,
      data: { values },
      facet: {
        row: {
          field: 'metric',
          type: 'nominal',
          title: null,
          header: { labelAngle: 0, labelAlign: 'left', labelOrient: 'top', labelPadding: 2 }
        }
      },
      spec: {
        width: 200,
        height: 28,
        mark: { type: 'bar', tooltip: true },
        encoding: {
          y: { field: 'run', type: 'nominal', axis: null },
          x: { field: 'value', type: 'quantitative', title: null, axis: { tickCount: 4 } },
          color: { field: 'run', type: 'nominal', legend: { orient: 'bottom', title: null } }
        }
      },
      resolve: { scale: { x: 'independent' } }
    };
  }, [left, right]);
  return <VegaChart spec={spec} testId="mlops-compare-chart" />;
}

function show(value: unknown): string {
  if (value === undefined || value === null) {
    return '';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  }
  return String(value);
}
