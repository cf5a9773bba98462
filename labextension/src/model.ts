/**
 * What the sidebar and the main-area views share: JupyterLab's services, the notebook in front
 * of the user, a counter bumped when a run ends (so that lists of runs reload), and the way to
 * open a view. Each view is its own React root, so this is a plain object with a `changed`
 * signal (hooks/useModel re-renders on it), not a React context.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Signal } from '@lumino/signaling';

export interface MlopsServices {
  shell: JupyterFrontEnd.IShell;
  tracker: INotebookTracker;
  docManager: IDocumentManager;
  rendermime: IRenderMimeRegistry;
}

/** The main-area views, and what each can be opened on. */
export type ViewRequest =
  | { view: 'experiments' }
  | { view: 'compare'; runs?: string[] }
  | { view: 'models'; model?: string }
  | { view: 'data'; run?: string };

export class MlopsModel {
  readonly changed = new Signal<MlopsModel, void>(this);
  private _runsVersion = 0;

  constructor(
    readonly services: MlopsServices,
    readonly open: (request: ViewRequest) => void
  ) {
    services.tracker.currentChanged.connect(() => this.changed.emit());
  }

  /** The notebook the views work on: the last one that had focus (null: none open). */
  get notebook(): NotebookPanel | null {
    const panel = this.services.tracker.currentWidget;
    return panel && !panel.isDisposed ? panel : null;
  }

  /** Its path, relative to the server root. */
  get notebookPath(): string | null {
    return this.notebook?.context.path ?? null;
  }

  /** Bumped whenever a run ends or a model changes: lists reload. */
  get runsVersion(): number {
    return this._runsVersion;
  }

  runEnded(): void {
    this._runsVersion += 1;
    this.changed.emit();
  }
}
