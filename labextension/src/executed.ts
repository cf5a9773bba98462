/**
 * A step's executed notebook, opened read-only in the main area: the page the server renders
 * with nbconvert (GET runs/<id>/steps/<step>/notebook), in a fully sandboxed frame. It is not
 * a notebook document: no kernel starts, nothing autosaves, the notebook tracker never sees it
 * (so the Pipeline panel keeps the source notebook), and `.nb2pipe/` need not be served by
 * Jupyter's contents API (a plain `jupyter lab` has `allow_hidden` off).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IFrame, notebookIcon } from '@jupyterlab/ui-components';

import { api } from './request';

export async function openExecuted(
  shell: JupyterFrontEnd.IShell,
  runId: string,
  step: string,
  path?: string
): Promise<void> {
  const id = `jupyter-mlops-executed-${runId}-${step}`.replace(/[^A-Za-z0-9_-]/g, '_');
  for (const widget of shell.widgets('main')) {
    if (widget.id === id) {
      shell.activateById(id);
      return;
    }
  }
  const page = await api.executedNotebook(runId, step, path);
  const frame = new IFrame({ sandbox: [] }); // no script, no same-origin access
  frame.addClass('jp-mlops-executed');
  frame.node.querySelector('iframe')!.srcdoc = page.html;
  const widget = new MainAreaWidget({ content: frame });
  widget.id = id;
  widget.title.label = page.title;
  widget.title.caption = `${page.title}: the executed notebook of step ${step} (read-only)`;
  widget.title.icon = notebookIcon;
  widget.title.closable = true;
  widget.node.dataset.testid = 'mlops-executed-notebook';
  shell.add(widget, 'main');
  shell.activateById(id);
}
