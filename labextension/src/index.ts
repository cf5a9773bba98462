/**
 * jupyter-mlops: the sidebar of the pipeline, its runs, data and models.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { pipelineIcon } from './icons';
import { MlopsSidebar } from './sidebar';

const SIDEBAR_ID = 'jupyter-mlops-sidebar';
const OPEN_COMMAND = 'jupyter-mlops:open-sidebar';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mlops:plugin',
  description: 'Pipeline, experiments, data and models of the open notebook, in a sidebar.',
  autoStart: true,
  requires: [INotebookTracker, IDocumentManager, IRenderMimeRegistry],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    docManager: IDocumentManager,
    rendermime: IRenderMimeRegistry,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const sidebar = new MlopsSidebar({ shell: app.shell, tracker, docManager, rendermime });
    sidebar.id = SIDEBAR_ID;
    sidebar.title.icon = pipelineIcon;
    sidebar.title.caption = 'MLOps: pipeline, experiments, data, models';
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, SIDEBAR_ID);

    app.commands.addCommand(OPEN_COMMAND, {
      label: 'Show the MLOps sidebar',
      icon: pipelineIcon,
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    palette?.addItem({ command: OPEN_COMMAND, category: 'MLOps' });
  }
};

export default plugin;
