/**
 * Pipeline: the current notebook's steps as a graph, its parameters, Compile / Run / Resume /
 * Cancel, and the live status of the run (polled every second while it goes).
 */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { Check, compileError, ErrorLine, useAction, useLoad } from './components';
import { DataChanges } from './DataChanges';
import { PipelineGraph } from './PipelineGraph';
import { api, errorText, ParamValue, PipelineSummary, RunStatus, StepStatus } from './request';
import { useMlops } from './state';
import { openExecuted } from './executed';
import { StepDebug } from './StepDebug';

const POLL_MS = 1000;
const GOING = new Set(['starting', 'queued', 'pending', 'running', 'cancelling']);

export function isGoing(status: string | undefined): boolean {
  return status !== undefined && GOING.has(status);
}

export function PipelinePanel(): JSX.Element {
  const {
    services,
    notebook,
    pipeline,
    pipelineError,
    pipelineBusy,
    refreshPipeline,
    setLastRunId,
    runEnded
  } = useMlops();
  const [params, setParams] = React.useState<Record<string, string>>({});
  // the run whose values fill the form (null: the notebook's own values)
  const [paramsFrom, setParamsFrom] = React.useState<string | null>(null);
  const filledFrom = React.useRef<string | null>(null);
  const [force, setForce] = React.useState(false);
  const [run, setRun] = React.useState<RunStatus | null>(null);
  // when the Compile button last finished: its outcome shows under the toolbar
  const [compiled, setCompiled] = React.useState<string | null>(null);
  // `message`: why starting, cancelling or watching the run failed
  const { busy, error: message, setError: setMessage, act } = useAction();

  const summary = pipeline?.ok ? pipeline : null;
  const defaults = summary?.parameters ?? {};

  // Each notebook shows its own last run: opening an executed step notebook and coming back
  // finds the run where it was.
  const runs = React.useRef(new Map<string, RunStatus>());
  const path = notebook?.context.path ?? '';
  useLoad(
    () => {
      setRun(runs.current.get(path) ?? null);
      setParams({});
      setParamsFrom(null);
      filledFrom.current = null;
      setMessage(null);
      if (!path || runs.current.has(path)) {
        return null;
      }
      // Not run from this page: show the notebook's latest run (from the CLI, the magics or
      // before a reload), live if it still goes.
      return api
        .pastRuns(path, 1)
        .then(({ runs: past }) => (past.length ? api.run(past[0].run_id, path) : null));
    },
    status => {
      if (status && !runs.current.has(path)) {
        setRun(status);
      }
    },
    () => undefined, // no past runs to show is not an error
    [path]
  );
  React.useEffect(() => {
    if (run && path) {
      runs.current.set(path, run);
    }
  }, [run, path]);

  // The form shows the values of the run on display, so that Resume continues that run with
  // what it ran with: a form back at the notebook's values after a reload or a tab switch
  // would otherwise start another run, or look as if it resumed one it does not.
  const runParams = run?.params;
  React.useEffect(() => {
    if (!summary || !run || !runParams || filledFrom.current === run.run_id) {
      return;
    }
    filledFrom.current = run.run_id;
    const texts: Record<string, string> = {};
    for (const name of Object.keys(summary.parameters)) {
      if (name in runParams) {
        texts[name] = paramText(runParams[name]);
      }
    }
    setParams(texts);
    setParamsFrom(run.run_id);
  }, [summary, run?.run_id, runParams]);
  const paramsChanged =
    paramsFrom !== null &&
    Object.entries(params).some(
      ([name, text]) => runParams && name in runParams && text !== paramText(runParams[name])
    );
  const resetParams = () => {
    setParams({});
    setParamsFrom(null);
  };

  // Live status: poll while the run goes.
  const runId = run?.run_id;
  const going = isGoing(run?.status);
  React.useEffect(() => {
    if (!runId || !going) {
      return;
    }
    let stopped = false;
    let inFlight = false;
    const timer = window.setInterval(async () => {
      if (inFlight) {
        return;
      }
      inFlight = true;
      try {
        const status = await api.run(runId, path);
        if (!stopped) {
          setRun(status);
          if (!isGoing(status.status)) {
            runEnded();
          }
        }
      } catch (error) {
        if (!stopped) {
          setMessage(`status of run ${runId}: ${errorText(error)}`);
        }
      } finally {
        inFlight = false;
      }
    }, POLL_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [runId, going, runEnded, path]);

  const start = async (resume?: string) => {
    if (!notebook) {
      return;
    }
    await act(async () => {
      if (notebook.context.model.dirty) {
        // the server runs the file: what the user sees must be what runs
        await notebook.context.save();
      }
      const values = parseParams(params, defaults);
      const { run_id } = await api.startRun(notebook.context.path, {
        params: values,
        ...(resume ? { resume } : {}),
        ...(force ? { force } : {})
      });
      setLastRunId(run_id);
      setRun({ run_id, status: 'running', steps: [] });
    });
  };

  const cancel = async () => {
    if (!runId) {
      return;
    }
    try {
      const answer = await api.cancelRun(runId);
      setRun(r => (r ? { ...r, status: answer.status } : r));
    } catch (error) {
      setMessage(errorText(error));
    }
  };

  const open = (step: string) => {
    if (runId) {
      openExecuted(services.shell, runId, step, path).catch(error =>
        setMessage(`open ${step}: ${errorText(error)}`)
      );
    }
  };

  // A failure names the cell in the source notebook's numbering: show that cell.
  const showCell = (cell: number) => {
    if (!notebook || cell < 1 || cell > notebook.content.widgets.length) {
      return;
    }
    notebook.content.activeCellIndex = cell - 1;
    void notebook.content.scrollToItem(cell - 1, 'center');
    services.shell.activateById(notebook.id);
  };

  const compile = async () => {
    setCompiled(null);
    await refreshPipeline();
    setCompiled(new Date().toLocaleTimeString());
  };

  const selectStep = (name: string) => {
    const step = summary?.steps.find(s => s.name === name);
    if (!notebook || !step || step.cells.length === 0) {
      return;
    }
    notebook.content.activeCellIndex = step.cells[0] - 1;
    void notebook.content.scrollToItem(step.cells[0] - 1);
  };

  if (!notebook) {
    return <p className="jp-mlops-hint">Open a notebook to see its pipeline.</p>;
  }

  const statuses: Record<string, string> = {};
  for (const step of run?.steps ?? []) {
    statuses[step.name] = step.status;
  }
  const failedRun = run && !going && run.status !== 'succeeded' && run.status !== 'done';

  return (
    <div className="jp-mlops-pipeline">
      <div className="jp-mlops-row jp-mlops-title">
        <span className="jp-mlops-notebook" title={notebook.context.path}>
          {summary ? summary.pipeline : notebook.context.path}
        </span>
        {pipelineBusy && <span className="jp-mlops-muted">compiling…</span>}
      </div>
      <div className="jp-mlops-toolbar">
        <Button small
          className="jp-mlops-button"
          data-testid="mlops-compile"
          onClick={() => void compile()}
          title="Compile the notebook (unsaved edits included) and check it"
        >
          Compile
        </Button>
        <Button small
          className="jp-mlops-button jp-mod-accept"
          data-testid="mlops-run"
          disabled={busy || going || !summary}
          onClick={() => void start()}
          title="Save the notebook and run it as a pipeline"
        >
          Run
        </Button>
        <Button small
          className="jp-mlops-button"
          data-testid="mlops-resume"
          disabled={busy || going || !failedRun}
          onClick={() => runId && void start(runId)}
          title="Continue the last run: finished steps are kept"
        >
          Resume
        </Button>
        <Button small
          className="jp-mlops-button jp-mod-warn"
          data-testid="mlops-cancel"
          disabled={!going}
          onClick={() => void cancel()}
        >
          Cancel
        </Button>
        <Check
          label="force"
          title="Run every step, ignoring the cache"
          testId="mlops-force"
          checked={force}
          onChange={setForce}
        />
      </div>
      {summary && (
        <div className="jp-mlops-muted" data-testid="mlops-pipeline-summary">
          {summary.steps.length} steps · {summary.edges.length} edges ·{' '}
          {Object.keys(summary.parameters).length} parameters
        </div>
      )}
      {compiled && !pipelineBusy && (
        <div
          className={pipeline?.ok ? 'jp-mlops-note' : 'jp-mlops-error'}
          data-testid="mlops-compile-result"
          data-ok={String(Boolean(pipeline?.ok))}
        >
          {pipeline?.ok
            ? `Compiled at ${compiled}: ${pipeline.steps.length} steps, no errors.`
            : `Compiled at ${compiled}: the notebook does not compile (below).`}
        </div>
      )}
      <ErrorLine error={pipelineError} testId="mlops-pipeline-error" />
      <ErrorLine error={compileError(pipeline)} testId="mlops-pipeline-error" />
      <ErrorLine error={message} testId="mlops-run-message" />
      <DataChanges path={path} refresh={run?.status} />
      {summary && (
        <PipelineGraph summary={summary} statuses={statuses} onSelect={selectStep} />
      )}
      {summary && Object.keys(defaults).length > 0 && (
        <ParamsForm
          defaults={defaults}
          values={params}
          onChange={setParams}
          from={paramsFrom}
          changed={paramsChanged}
          resumable={Boolean(failedRun)}
          onReset={resetParams}
        />
      )}
      {run && (
        <RunView
          run={run}
          summary={summary}
          onOpen={open}
          onCell={showCell}
          debug={step => <StepDebug notebook={notebook} runId={run.run_id} step={step} />}
        />
      )}
    </div>
  );
}

function ParamsForm(props: {
  defaults: Record<string, ParamValue>;
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
  /** the run whose values the form shows, if any */
  from: string | null;
  /** the user changed a value shown from `from` */
  changed: boolean;
  /** `from` can be resumed */
  resumable: boolean;
  onReset: () => void;
}): JSX.Element {
  const { defaults, values, onChange, from, changed, resumable, onReset } = props;
  return (
    <details className="jp-mlops-section" open data-testid="mlops-params">
      <summary>Parameters</summary>
      {from && (
        <div className="jp-mlops-muted" data-testid="mlops-params-from" data-run={from}>
          {changed
            ? `Changed from run ${from}: a run with these values is a new run. `
            : resumable
              ? `The values of run ${from}: Resume continues it with them. `
              : `The values of run ${from}. `}
          <a
            href="#"
            data-testid="mlops-params-reset"
            title="Show the notebook's own parameter values"
            onClick={e => {
              e.preventDefault();
              onReset();
            }}
          >
            notebook's values
          </a>
        </div>
      )}
      <div className="jp-mlops-form">
        {Object.entries(defaults).map(([name, value]) => {
          const shown = values[name] ?? paramText(value);
          const set = (text: string) => onChange({ ...values, [name]: text });
          return (
            <label key={name} className="jp-mlops-field">
              <span>{name}</span>
              {typeof value === 'boolean' ? (
                <input
                  type="checkbox"
                  data-testid={`mlops-param-${name}`}
                  checked={shown === 'true'}
                  onChange={e => set(String(e.target.checked))}
                />
              ) : (
                <input
                  type={typeof value === 'number' ? 'number' : 'text'}
                  step="any"
                  className="jp-mlops-input"
                  data-testid={`mlops-param-${name}`}
                  value={shown}
                  onChange={e => set(e.target.value)}
                />
              )}
            </label>
          );
        })}
      </div>
    </details>
  );
}

function paramText(value: ParamValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The parameters that differ from the notebook's, typed like the notebook's values. */
function parseParams(
  texts: Record<string, string>,
  defaults: Record<string, ParamValue>
): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [name, text] of Object.entries(texts)) {
    const original = defaults[name];
    if (text === paramText(original)) {
      continue;
    }
    if (typeof original === 'string') {
      out[name] = text;
    } else if (typeof original === 'number') {
      const number = Number(text);
      if (text.trim() === '' || !Number.isFinite(number)) {
        throw new Error(`parameter ${name}: ${JSON.stringify(text)} is not a number`);
      }
      out[name] = number;
    } else if (typeof original === 'boolean') {
      out[name] = text === 'true';
    } else {
      try {
        out[name] = JSON.parse(text);
      } catch {
        throw new Error(`parameter ${name}: ${JSON.stringify(text)} is not valid JSON`);
      }
    }
  }
  return out;
}

function RunView(props: {
  run: RunStatus;
  summary: PipelineSummary | null;
  onOpen: (step: string) => void;
  onCell: (cell: number) => void;
  /** what a failed step offers besides its error: the "debug in this notebook" button */
  debug: (step: string) => React.ReactNode;
}): JSX.Element {
  const { run, summary, onOpen, onCell, debug } = props;
  const reported = new Map(run.steps.map(s => [s.name, s]));
  // every step of the pipeline is listed, those not started yet as pending
  const names = summary ? summary.steps.map(s => s.name) : [];
  const rows: StepStatus[] = [
    ...names.map(name => reported.get(name) ?? { name, status: 'pending' }),
    ...run.steps.filter(s => !names.includes(s.name))
  ];
  return (
    <div className="jp-mlops-section" data-testid="mlops-run-view">
      <div className="jp-mlops-row">
        <span>
          Run <code>{run.run_id}</code>
        </span>
        <span
          className={`jp-mlops-badge jp-mlops-status-${run.status}`}
          data-testid="mlops-run-status"
          data-status={run.status}
        >
          {run.status}
        </span>
      </div>
      <table className="jp-mlops-table">
        <tbody>
          {rows.map(step => (
            <tr key={step.name} data-testid={`mlops-step-${step.name}`} data-status={step.status}>
              <td>{step.name}</td>
              <td>
                <span className={`jp-mlops-badge jp-mlops-status-${step.status}`}>
                  {step.status}
                </span>
              </td>
              <td className="jp-mlops-num jp-mlops-wide-only">
                {typeof step.duration === 'number' ? `${step.duration.toFixed(1)} s` : ''}
              </td>
              <td>
                {step.notebook && (
                  <a
                    href="#"
                    data-testid={`mlops-step-open-${step.name}`}
                    title={`Open the executed notebook of ${step.name} (read-only)`}
                    onClick={e => {
                      e.preventDefault();
                      onOpen(step.name);
                    }}
                  >
                    open
                  </a>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows
        .filter(s => s.status === 'failed' && s.error)
        .map(s => {
          const cell = typeof s.error === 'object' ? s.error?.cell : undefined;
          return (
            <div key={s.name} className="jp-mlops-error" data-testid={`mlops-step-error-${s.name}`}>
              {s.name}:{' '}
              {typeof cell === 'number' ? (
                <a
                  href="#"
                  data-testid={`mlops-step-error-cell-${s.name}`}
                  title={`Show cell ${cell} of the notebook`}
                  onClick={e => {
                    e.preventDefault();
                    onCell(cell);
                  }}
                >
                  cell {cell}
                </a>
              ) : null}
              {typeof cell === 'number' ? ': ' : ''}
              {typeof s.error === 'string' ? s.error : (s.error?.message ?? '')}{' '}
              {debug(s.name)}
            </div>
          );
        })}
      {run.metrics && Object.keys(run.metrics).length > 0 && (
        <div className="jp-mlops-metrics" data-testid="mlops-run-metrics">
          {Object.entries(run.metrics).map(([k, v]) => (
            <span key={k} className="jp-mlops-chip">
              {k} = {typeof v === 'number' ? v.toPrecision(4) : String(v)}
            </span>
          ))}
        </div>
      )}
    </div>
  );
}
