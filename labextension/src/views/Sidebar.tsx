/**
 * The left sidebar is for the notebook in front of the user: its pipeline, live status,
 * parameters and last run (Pipeline), and its cells' tags (Tags). What needs width opens as a
 * main-area view: Experiments, Models and Data, from the buttons under the tabs (also in the
 * command palette and the launcher).
 *
 * Both panels stay mounted when hidden, so a run keeps being watched from the Tags tab, and
 * each sits behind its own error boundary.
 */
import {
  listIcon,
  ReactWidget,
  tableRowsIcon,
  tagIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { PanelBoundary } from '../components/PanelBoundary';
import { SidebarContext, useNotebookPipeline } from '../hooks/useNotebookPipeline';
import { modelIcon, pipelineIcon } from '../icons';
import { MlopsModel, ViewRequest } from '../model';
import { CellTagsPanel } from './CellTagsPanel';
import { PipelinePanel } from './PipelinePanel';

const PANELS = [
  { id: 'pipeline', label: 'Pipeline', icon: pipelineIcon, Panel: PipelinePanel },
  { id: 'tags', label: 'Tags', icon: tagIcon, Panel: CellTagsPanel }
];

const VIEWS: { view: ViewRequest['view']; label: string; icon: typeof listIcon; tip: string }[] = [
  { view: 'experiments', label: 'Experiments', icon: listIcon, tip: 'Runs of the experiment' },
  { view: 'models', label: 'Models', icon: modelIcon, tip: 'The registry: versions, aliases' },
  { view: 'data', label: 'Data', icon: tableRowsIcon, tip: 'Profiles and drift of run data' }
];

function Sidebar({ model }: { model: MlopsModel }): JSX.Element {
  const state = useNotebookPipeline(model);
  const [active, setActive] = React.useState(PANELS[0].id);
  return (
    <SidebarContext.Provider value={state}>
      <div className="jp-mlops-sidebar" data-testid="mlops-sidebar">
        {/* toggle buttons (aria-pressed) in a toolbar: JupyterLab's toolbar buttons cannot take
            the role of a tab */}
        <div className="jp-Toolbar jp-mlops-tabs" role="toolbar" aria-label="MLOps panels">
          {PANELS.map(p => (
            <ToolbarButtonComponent
              key={p.id}
              className={`jp-mlops-tab${p.id === active ? ' jp-mod-active' : ''}`}
              dataset={{ testid: `mlops-tab-${p.id}` }}
              icon={p.icon}
              label={p.label}
              tooltip={p.label}
              pressed={p.id === active}
              onClick={() => setActive(p.id)}
            />
          ))}
        </div>
        <div className="jp-mlops-views" role="toolbar" aria-label="open a view">
          {VIEWS.map(v => (
            <ToolbarButtonComponent
              key={v.view}
              className="jp-mlops-open-view"
              dataset={{ testid: `mlops-open-${v.view}` }}
              icon={v.icon}
              label={v.label}
              tooltip={`${v.tip} (opens in the main area)`}
              onClick={() => model.open({ view: v.view } as ViewRequest)}
            />
          ))}
        </div>
        {PANELS.map(({ id, label, Panel }) => (
          <div
            key={id}
            role="region"
            aria-label={label}
            className="jp-mlops-panel"
            data-testid={`mlops-panel-${id}`}
            hidden={id !== active}
          >
            <PanelBoundary name={label}>
              <Panel />
            </PanelBoundary>
          </div>
        ))}
      </div>
    </SidebarContext.Provider>
  );
}

export class MlopsSidebar extends ReactWidget {
  constructor(private readonly model: MlopsModel) {
    super();
    this.addClass('jp-mlops-widget');
  }

  protected render(): JSX.Element {
    return <Sidebar model={this.model} />;
  }
}
