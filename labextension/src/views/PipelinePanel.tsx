/**
 * Pipeline: the current notebook's steps as a graph, its parameters, Compile / Run / Resume /
 * Cancel, and the live status of its last run (polled every second while it goes).
 *
 * Everything shown is the current notebook's own: its run, its compile result and its form
 * live in a per-notebook store, and every answer is written under the notebook it was asked
 * for, so switching notebooks never shows one notebook's run or compile time in another's.
 */
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { DataChanges } from '../components/DataChanges';
import { Check } from '../components/Form';
import { ErrorLine } from '../components/Lines';
import { PipelineGraph } from '../components/PipelineGraph';
import { Progress } from '../components/Progress';
import { StepDebug } from '../components/StepDebug';
import { openExecuted } from '../executed';
import { useSidebar } from '../hooks/useNotebookPipeline';
import { compileError, CompileResult, compileLine, PerNotebook } from '../notebookState';
import { api, errorText, PipelineAnswer, RunStatus } from '../request';
import { paramText, ParamsForm, parseParams } from './ParamsForm';
import { RunView } from './RunView';

const POLL_MS = 1000;
const GOING = new Set(['starting', 'queued', 'pending', 'running', 'cancelling']);

export function isGoing(status: string | undefined): boolean {
  return status !== undefined && GOING.has(status);
}

/** What the panel remembers of one notebook. */
interface NotebookEntry {
  run: RunStatus | null;
  /** the past run was looked up (once per notebook and page) */
  looked: boolean;
  compile: CompileResult | null;
  /** the answer of that compile: once the pipeline is compiled again, its outcome is old */
  compiled: PipelineAnswer | null;
  compiling: number | null;
  /** the parameters form: name → text, and the run whose values fill it (null: the notebook's) */
  params: Record<string, string>;
  paramsFrom: string | null;
  starting: number | null;
  message: string | null;
}

const emptyEntry = (): NotebookEntry => ({
  run: null,
  looked: false,
  compile: null,
  compiled: null,
  compiling: null,
  params: {},
  paramsFrom: null,
  starting: null,
  message: null
});

export function PipelinePanel(): JSX.Element {
  const { model, notebook, path, pipeline, pipelineError, pipelineBusy, refreshPipeline } =
    useSidebar();
  const store = React.useRef(new PerNotebook<NotebookEntry>(emptyEntry));
  const [, setTick] = React.useState(0);
  const [force, setForce] = React.useState(false);
  const entry = store.current.get(path);
  const { run } = entry;

  /** Change notebook `key`'s entry (the one the work was started for) and redraw. */
  const update = React.useCallback((key: string, change: Partial<NotebookEntry>) => {
    store.current.update(key, e => ({ ...e, ...change }));
    setTick(t => t + 1);
  }, []);

  const summary = pipeline?.ok ? pipeline : null;
  const defaults = summary?.parameters ?? {};

  // The notebook's latest run (from the CLI, the magics, or before a reload), once per page.
  React.useEffect(() => {
    if (!path || store.current.get(path).looked) {
      return;
    }
    update(path, { looked: true });
    api
      .pastRuns(path, 1)
      .then(({ runs: past }) => (past.length ? api.run(past[0].run_id, path) : null))
      .then(status => {
        if (status && !store.current.get(path).run) {
          update(path, { run: status, ...fromRun(status, store.current.get(path)) });
        }
      })
      .catch(() => undefined); // no past runs to show is not an error
  }, [path, update]);

  // The Compile button's outcome stands while it is true: once the notebook compiles to
  // something else (an edit), it goes, so an old time never sits beside a new step count.
  React.useEffect(() => {
    if (
      path &&
      entry.compiled &&
      pipeline &&
      pipeline !== entry.compiled &&
      JSON.stringify(pipeline) !== JSON.stringify(entry.compiled)
    ) {
      update(path, { compile: null, compiled: null });
    }
  }, [path, pipeline, entry.compiled, update]);

  // Live status: poll while the shown run goes; each answer goes to its own notebook's entry.
  const runId = run?.run_id;
  const going = isGoing(run?.status);
  React.useEffect(() => {
    if (!path || !runId || !going) {
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
        const shown = store.current.get(path);
        if (!stopped && shown.run?.run_id === runId) {
          update(path, { run: status, ...fromRun(status, shown) });
          if (!isGoing(status.status)) {
            model.runEnded();
          }
        }
      } catch (error) {
        if (!stopped) {
          update(path, { message: `status of run ${runId}: ${errorText(error)}` });
        }
      } finally {
        inFlight = false;
      }
    }, POLL_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [path, runId, going, model, update]);

  if (!notebook || !path) {
    return <p className="jp-mlops-hint">Open a notebook to see its pipeline.</p>;
  }

  const start = async (resume?: string) => {
    const key = path;
    const values = store.current.get(key).params;
    update(key, { starting: Date.now(), message: null });
    try {
      if (notebook.context.model.dirty) {
        // the server runs the file: what the user sees must be what runs
        await notebook.context.save();
      }
      const { run_id } = await api.startRun(key, {
        params: parseParams(values, defaults),
        ...(resume ? { resume } : {}),
        ...(force ? { force } : {})
      });
      update(key, { run: { run_id, status: 'starting', steps: [] } });
    } catch (error) {
      update(key, { message: errorText(error) });
    } finally {
      update(key, { starting: null });
    }
  };

  const cancel = async () => {
    const key = path;
    if (!runId) {
      return;
    }
    try {
      const answer = await api.cancelRun(runId);
      const current = store.current.get(key).run;
      if (current?.run_id === runId) {
        update(key, { run: { ...current, status: answer.status } });
      }
    } catch (error) {
      update(key, { message: errorText(error) });
    }
  };

  const compile = async () => {
    const key = path;
    update(key, { compiling: Date.now(), compile: null });
    const answer = await refreshPipeline();
    update(key, {
      compiling: null,
      compiled: answer,
      compile: {
        at: Date.now(),
        ok: Boolean(answer?.ok),
        steps: answer?.ok ? answer.steps.length : 0,
        message: compileError(answer) ?? 'the server did not answer'
      }
    });
  };

  const open = (step: string) => {
    if (runId) {
      openExecuted(model.services.shell, runId, step, path).catch(error =>
        update(path, { message: `open ${step}: ${errorText(error)}` })
      );
    }
  };

  // A failure names the cell in the source notebook's numbering: show that cell.
  const showCell = (cell: number) => {
    if (cell < 1 || cell > notebook.content.widgets.length) {
      return;
    }
    notebook.content.activeCellIndex = cell - 1;
    void notebook.content.scrollToItem(cell - 1, 'center');
    model.services.shell.activateById(notebook.id);
  };

  const selectStep = (name: string) => {
    const step = summary?.steps.find(s => s.name === name);
    if (!step || step.cells.length === 0) {
      return;
    }
    notebook.content.activeCellIndex = step.cells[0] - 1;
    void notebook.content.scrollToItem(step.cells[0] - 1);
  };

  const statuses: Record<string, string> = {};
  for (const step of run?.steps ?? []) {
    statuses[step.name] = step.status;
  }
  const failedRun = run && !going && run.status !== 'succeeded' && run.status !== 'done';
  const busy = entry.starting !== null;
  const runParams = run?.params;
  const paramsChanged =
    entry.paramsFrom !== null &&
    Object.entries(entry.params).some(
      ([name, text]) => runParams && name in runParams && text !== paramText(runParams[name])
    );

  return (
    <div className="jp-mlops-pipeline" data-testid="mlops-pipeline" data-path={path}>
      <div className="jp-mlops-row jp-mlops-title">
        <span className="jp-mlops-notebook" title={path}>
          {summary ? summary.pipeline : path}
        </span>
        {pipelineBusy && <span className="jp-mlops-muted">compiling…</span>}
      </div>
      <div className="jp-mlops-toolbar" role="toolbar" aria-label="pipeline actions">
        <Button
          small
          className="jp-mlops-button"
          data-testid="mlops-compile"
          disabled={entry.compiling !== null}
          onClick={() => void compile()}
          title="Compile the notebook (unsaved edits included) and check it"
        >
          Compile
        </Button>
        <Button
          small
          className="jp-mlops-button jp-mod-accept"
          data-testid="mlops-run"
          disabled={busy || going || !summary}
          onClick={() => void start()}
          title="Save the notebook and run it as a pipeline"
        >
          Run
        </Button>
        <Button
          small
          className="jp-mlops-button"
          data-testid="mlops-resume"
          disabled={busy || going || !failedRun}
          onClick={() => runId && void start(runId)}
          title="Continue the last run: finished steps are kept"
        >
          Resume
        </Button>
        <Button
          small
          className="jp-mlops-button jp-mod-warn"
          data-testid="mlops-cancel"
          disabled={!going}
          onClick={() => void cancel()}
          title="Stop the run: running steps are interrupted"
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
      <Progress
        doing={entry.compiling !== null ? 'compiling the notebook…' : null}
        since={entry.compiling}
        testId="mlops-compile-progress"
      />
      <Progress
        doing={busy ? 'saving and starting the run…' : null}
        since={entry.starting}
        testId="mlops-run-progress"
      />
      {entry.compile && (
        <div
          className={entry.compile.ok ? 'jp-mlops-note' : 'jp-mlops-error'}
          data-testid="mlops-compile-result"
          data-ok={String(entry.compile.ok)}
          role="status"
        >
          {compileLine(entry.compile)}
        </div>
      )}
      {summary && (
        <div className="jp-mlops-muted" data-testid="mlops-pipeline-summary">
          {summary.steps.length} steps · {summary.edges.length} edges ·{' '}
          {Object.keys(summary.parameters).length} parameters
        </div>
      )}
      <ErrorLine error={pipelineError} testId="mlops-pipeline-error" />
      <ErrorLine error={compileError(pipeline)} testId="mlops-pipeline-error" />
      <ErrorLine error={entry.message} testId="mlops-run-message" />
      <DataChanges path={path} refresh={run?.status} />
      {summary && <PipelineGraph summary={summary} statuses={statuses} onSelect={selectStep} />}
      {summary && Object.keys(defaults).length > 0 && (
        <ParamsForm
          defaults={defaults}
          values={entry.params}
          onChange={params => update(path, { params })}
          from={entry.paramsFrom}
          changed={paramsChanged}
          resumable={Boolean(failedRun)}
          onReset={() => update(path, { params: {}, paramsFrom: null })}
        />
      )}
      {run && (
        <RunView
          run={run}
          pipelineSteps={summary ? summary.steps.map(s => s.name) : null}
          onOpen={open}
          onCell={showCell}
          debug={step => (
            <StepDebug
              key={`${path}:${run.run_id}:${step}`}
              notebook={notebook}
              runId={run.run_id}
              step={step}
            />
          )}
        />
      )}
    </div>
  );
}

/** The form filled with the values `run` ran with, so that Resume continues it with them. */
function fromRun(run: RunStatus, entry: NotebookEntry): Partial<NotebookEntry> {
  if (!run.params || entry.paramsFrom === run.run_id) {
    return {};
  }
  const texts: Record<string, string> = {};
  for (const [name, value] of Object.entries(run.params)) {
    texts[name] = paramText(value);
  }
  return { params: texts, paramsFrom: run.run_id };
}
