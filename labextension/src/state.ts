/**
 * What the panels share: JupyterLab's services, the current notebook, its pipeline (compiled
 * from the unsaved content, so the graph follows edits), the tag grammar and the last run.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import * as React from 'react';

import { api, errorText, PipelineAnswer, TagRule } from './request';

export interface MlopsServices {
  shell: JupyterFrontEnd.IShell;
  tracker: INotebookTracker;
  docManager: IDocumentManager;
  rendermime: IRenderMimeRegistry;
}

export interface MlopsState {
  services: MlopsServices;
  /** The notebook the sidebar works on: the last one that had focus. */
  notebook: NotebookPanel | null;
  pipeline: PipelineAnswer | null;
  /** Why the pipeline could not be requested at all (network, 4xx); compile errors are in `pipeline`. */
  pipelineError: string | null;
  pipelineBusy: boolean;
  refreshPipeline: () => Promise<void>;
  grammar: TagRule[] | null;
  /** The nb2pipe run id of the last run started from the sidebar. */
  lastRunId: string | null;
  setLastRunId: (runId: string) => void;
  /** Bumped whenever a run ends, so that panels listing runs reload. */
  runsVersion: number;
  runEnded: () => void;
}

export const MlopsContext = React.createContext<MlopsState | null>(null);

export function useMlops(): MlopsState {
  const state = React.useContext(MlopsContext);
  if (state === null) {
    throw new Error('useMlops() outside the MLOps sidebar');
  }
  return state;
}

/** How long the notebook must stay unchanged before its pipeline is compiled again. */
const RECOMPILE_DELAY_MS = 800;

/** The shared state, owned by the sidebar and handed to the panels through `MlopsContext`. */
export function useMlopsState(services: MlopsServices): MlopsState {
  const notebook = useCurrentNotebook(services.tracker);
  const [pipeline, setPipeline] = React.useState<PipelineAnswer | null>(null);
  const [pipelineError, setPipelineError] = React.useState<string | null>(null);
  const [pipelineBusy, setPipelineBusy] = React.useState(false);
  const [grammar, setGrammar] = React.useState<TagRule[] | null>(null);
  const [lastRunId, setLastRunId] = React.useState<string | null>(null);
  const [runsVersion, setRunsVersion] = React.useState(0);
  const latest = React.useRef(0);

  React.useEffect(() => {
    api
      .grammar()
      .then(answer => setGrammar(answer.tags))
      .catch(error => console.warn('jupyter-mlops: no tag grammar:', errorText(error)));
  }, []);

  const refreshPipeline = React.useCallback(async () => {
    if (notebook === null || notebook.isDisposed) {
      setPipeline(null);
      return;
    }
    const ticket = ++latest.current;
    setPipelineBusy(true);
    try {
      await notebook.context.ready;
      const answer = await api.pipeline(notebook.context.path, notebook.context.model.toJSON());
      if (ticket === latest.current) {
        setPipeline(answer);
        setPipelineError(null);
      }
    } catch (error) {
      if (ticket === latest.current) {
        setPipelineError(errorText(error));
      }
    } finally {
      if (ticket === latest.current) {
        setPipelineBusy(false);
      }
    }
  }, [notebook]);

  // Compile when the notebook changes, and again once edits settle.
  React.useEffect(() => {
    setPipeline(null);
    setPipelineError(null);
    if (notebook === null) {
      return;
    }
    void refreshPipeline();
    let timer: number | undefined;
    const later = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void refreshPipeline(), RECOMPILE_DELAY_MS);
    };
    const model = notebook.context.model;
    model.contentChanged.connect(later);
    notebook.context.pathChanged.connect(later);
    return () => {
      window.clearTimeout(timer);
      model.contentChanged.disconnect(later);
      notebook.context.pathChanged.disconnect(later);
    };
  }, [notebook, refreshPipeline]);

  const runEnded = React.useCallback(() => setRunsVersion(v => v + 1), []);

  return {
    services,
    notebook,
    pipeline,
    pipelineError,
    pipelineBusy,
    refreshPipeline,
    grammar,
    lastRunId,
    setLastRunId,
    runsVersion,
    runEnded
  };
}

function useCurrentNotebook(tracker: INotebookTracker): NotebookPanel | null {
  const [panel, setPanel] = React.useState<NotebookPanel | null>(tracker.currentWidget);
  React.useEffect(() => {
    const changed = (_: INotebookTracker, current: NotebookPanel | null) => setPanel(current);
    tracker.currentChanged.connect(changed);
    setPanel(tracker.currentWidget);
    return () => {
      tracker.currentChanged.disconnect(changed);
    };
  }, [tracker]);
  return panel;
}

/** Re-render when `signal` fires; for Lumino signals that React cannot see. */
export function useSignalTick(
  signal: { connect: (fn: () => void) => boolean; disconnect: (fn: () => void) => boolean } | null
): number {
  const [tick, setTick] = React.useState(0);
  React.useEffect(() => {
    if (signal === null) {
      return;
    }
    const bump = () => setTick(t => t + 1);
    signal.connect(bump);
    return () => {
      signal.disconnect(bump);
    };
  }, [signal]);
  return tick;
}
