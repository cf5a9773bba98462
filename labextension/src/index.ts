/**
 * jupyter-mlops: a sidebar for the notebook in front of the user (its pipeline, live status,
 * parameters, last run, cell tags), and main-area views for what needs width (Experiments,
 * Compare, Models, Data), opened from the sidebar, the command palette and the launcher.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { pipelineIcon } from './icons';
import { MlopsModel, ViewRequest } from './model';
import { ViewOpener, VIEW_TITLES } from './views/MainViews';
import { MlopsSidebar } from './views/Sidebar';

const SIDEBAR_ID = 'jupyter-mlops-sidebar';
const CATEGORY = 'MLOps';
export const COMMANDS = {
  sidebar: 'jupyter-mlops:open-sidebar',
  experiments: 'jupyter-mlops:open-experiments',
  compare: 'jupyter-mlops:open-compare',
  models: 'jupyter-mlops:open-models',
  data: 'jupyter-mlops:open-data'
};
/** The views the launcher offers (Compare opens from Experiments, with the runs to compare). */
const LAUNCHED: ViewRequest['view'][] = ['experiments', 'models', 'data'];

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mlops:plugin',
  description:
    'The pipeline of the open notebook in a sidebar; experiments, models, data in views.',
  autoStart: true,
  requires: [INotebookTracker, IDocumentManager, IRenderMimeRegistry],
  optional: [ICommandPalette, ILayoutRestorer, ILauncher],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    docManager: IDocumentManager,
    rendermime: IRenderMimeRegistry,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    launcher: ILauncher | null
  ) => {
    const opener = new ViewOpener();
    const model = new MlopsModel({ shell: app.shell, tracker, docManager, rendermime }, request =>
      opener.show(request)
    );
    opener.model = model;

    const sidebar = new MlopsSidebar(model);
    sidebar.id = SIDEBAR_ID;
    sidebar.title.icon = pipelineIcon;
    sidebar.title.caption = 'MLOps: the pipeline of this notebook';
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, SIDEBAR_ID);

    app.commands.addCommand(COMMANDS.sidebar, {
      label: 'Show the MLOps sidebar',
      icon: pipelineIcon,
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    palette?.addItem({ command: COMMANDS.sidebar, category: CATEGORY });
    for (const view of ['experiments', 'compare', 'models', 'data'] as const) {
      const { label, caption, icon } = VIEW_TITLES[view];
      app.commands.addCommand(COMMANDS[view], {
        label: args => (args.isLauncher ? label : `Open ${label}`),
        caption,
        icon,
        execute: () => opener.show({ view } as ViewRequest)
      });
      palette?.addItem({ command: COMMANDS[view], category: CATEGORY });
      if (LAUNCHED.includes(view)) {
        launcher?.add({
          command: COMMANDS[view],
          category: CATEGORY,
          rank: LAUNCHED.indexOf(view)
        });
      }
    }
  }
};

export default plugin;
