/**
 * The main-area views as JupyterLab tabs, one of each (as jupyter-scheduler opens its job list
 * and job details): opening a view that is open already shows it, on what it was asked for.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { LabIcon, listIcon, ReactWidget, tableRowsIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { PanelBoundary } from '../components/PanelBoundary';
import { compareIcon, modelIcon } from '../icons';
import { MlopsModel, ViewRequest } from '../model';
import { CompareView } from './CompareView';
import { DataView } from './DataView';
import { ExperimentsView } from './ExperimentsView';
import { ModelsView } from './ModelsView';

type Kind = ViewRequest['view'];

export const VIEW_TITLES: Record<Kind, { label: string; caption: string; icon: LabIcon }> = {
  experiments: {
    label: 'Experiments',
    caption: 'MLOps: the runs of an experiment',
    icon: listIcon
  },
  compare: { label: 'Compare runs', caption: 'MLOps: runs side by side', icon: compareIcon },
  models: {
    label: 'Models',
    caption: 'MLOps: the model registry — versions, aliases, checks, model cards',
    icon: modelIcon
  },
  data: { label: 'Data', caption: 'MLOps: data profiles and drift', icon: tableRowsIcon }
};

/** One view's content: re-rendered with the last request that opened it. */
class ViewContent extends ReactWidget {
  request: ViewRequest;

  constructor(
    private readonly model: MlopsModel,
    request: ViewRequest
  ) {
    super();
    this.request = request;
    this.addClass('jp-mlops-widget');
    this.addClass('jp-mlops-main');
  }

  protected render(): JSX.Element {
    const { model, request } = this;
    const title = VIEW_TITLES[request.view].label;
    let view: JSX.Element;
    switch (request.view) {
      case 'experiments':
        view = <ExperimentsView model={model} />;
        break;
      case 'compare':
        view = <CompareView runIds={request.runs ?? []} />;
        break;
      case 'models':
        view = <ModelsView model={model} initial={request.model} key={request.model ?? ''} />;
        break;
      case 'data':
        view = <DataView model={model} initialRun={request.run} key={request.run ?? ''} />;
        break;
    }
    return <PanelBoundary name={title}>{view}</PanelBoundary>;
  }
}

/** Opens each view in the main area, or shows (and points) the one already open. */
export class ViewOpener {
  private readonly open = new Map<Kind, MainAreaWidget<ViewContent>>();
  model: MlopsModel | null = null;

  show(request: ViewRequest): void {
    const model = this.model;
    if (model === null) {
      return;
    }
    const { shell } = model.services;
    let widget = this.open.get(request.view);
    if (widget && !widget.isDisposed) {
      widget.content.request = request;
      widget.content.update();
    } else {
      const content = new ViewContent(model, request);
      widget = new MainAreaWidget({ content });
      const { label, caption, icon } = VIEW_TITLES[request.view];
      widget.id = `jupyter-mlops-${request.view}`;
      widget.title.label = label;
      widget.title.caption = caption;
      widget.title.icon = icon;
      widget.title.closable = true;
      widget.node.dataset.testid = `mlops-view-${request.view}`;
      this.open.set(request.view, widget);
      shell.add(widget, 'main');
    }
    shell.activateById(widget.id);
  }
}
