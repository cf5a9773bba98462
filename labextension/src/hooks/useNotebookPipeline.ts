/**
 * The sidebar's state: the notebook in front of the user and its pipeline (compiled from the
 * unsaved content, so the graph follows edits), kept per notebook: a compile started for one
 * notebook lands in that notebook's entry, whichever notebook is shown when it answers.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import * as React from 'react';

import { MlopsModel } from '../model';
import { PerNotebook } from '../notebookState';
import { api, errorText, PipelineAnswer, TagRule } from '../request';
import { useModel } from './useModel';

/** How long the notebook must stay unchanged before its pipeline is compiled again. */
const RECOMPILE_DELAY_MS = 800;

interface PipelineEntry {
  answer: PipelineAnswer | null;
  /** why the pipeline could not be requested at all (network, 4xx); compile errors are in `answer` */
  error: string | null;
  busy: boolean;
}

export interface SidebarState {
  model: MlopsModel;
  notebook: NotebookPanel | null;
  path: string | null;
  pipeline: PipelineAnswer | null;
  pipelineError: string | null;
  pipelineBusy: boolean;
  /** Compile the current notebook now; its answer (null: no notebook). */
  refreshPipeline: () => Promise<PipelineAnswer | null>;
  grammar: TagRule[] | null;
}

export const SidebarContext = React.createContext<SidebarState | null>(null);

export function useSidebar(): SidebarState {
  const state = React.useContext(SidebarContext);
  if (state === null) {
    throw new Error('useSidebar() outside the MLOps sidebar');
  }
  return state;
}

export function useNotebookPipeline(model: MlopsModel): SidebarState {
  useModel(model);
  const notebook = model.notebook;
  const path = notebook?.context.path ?? null;
  const entries = React.useRef(
    new PerNotebook<PipelineEntry>(() => ({ answer: null, error: null, busy: false }))
  );
  const tickets = React.useRef(new Map<string, number>());
  const [, setTick] = React.useState(0);
  const [grammar, setGrammar] = React.useState<TagRule[] | null>(null);

  React.useEffect(() => {
    api
      .grammar()
      .then(answer => setGrammar(answer.tags))
      .catch(error => console.warn('jupyter-mlops: no tag grammar:', errorText(error)));
  }, []);

  const compile = React.useCallback(
    async (panel: NotebookPanel | null): Promise<PipelineAnswer | null> => {
      if (panel === null || panel.isDisposed) {
        return null;
      }
      await panel.context.ready;
      const key = panel.context.path;
      const ticket = (tickets.current.get(key) ?? 0) + 1;
      tickets.current.set(key, ticket);
      const latest = () => tickets.current.get(key) === ticket;
      entries.current.update(key, e => ({ ...e, busy: true }));
      setTick(t => t + 1);
      try {
        const answer = await api.pipeline(key, panel.context.model.toJSON());
        if (latest()) {
          entries.current.update(key, () => ({ answer, error: null, busy: false }));
        }
        return answer;
      } catch (error) {
        if (latest()) {
          entries.current.update(key, e => ({ ...e, error: errorText(error), busy: false }));
        }
        return null;
      } finally {
        setTick(t => t + 1);
      }
    },
    []
  );

  // Compile when the notebook changes, and again once edits settle.
  React.useEffect(() => {
    if (notebook === null) {
      return;
    }
    void compile(notebook);
    let timer: number | undefined;
    const later = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void compile(notebook), RECOMPILE_DELAY_MS);
    };
    let current = notebook.context.path;
    const renamed = (_: unknown, to: string) => {
      entries.current.rename(current, to); // the entry follows the notebook to its new name
      current = to;
      later();
    };
    const content = notebook.context.model.contentChanged;
    content.connect(later);
    notebook.context.pathChanged.connect(renamed);
    return () => {
      window.clearTimeout(timer);
      content.disconnect(later);
      notebook.context.pathChanged.disconnect(renamed);
    };
  }, [notebook, compile]);

  const entry = entries.current.get(path);
  return {
    model,
    notebook,
    path,
    pipeline: entry.answer,
    pipelineError: entry.error,
    pipelineBusy: entry.busy,
    refreshPipeline: () => compile(notebook),
    grammar
  };
}
