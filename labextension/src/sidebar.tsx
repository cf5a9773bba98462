/**
 * The left sidebar: one tab per panel. Every panel stays mounted when hidden, so a run keeps
 * being watched while the user looks at experiments or models.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { CellTagsPanel } from './CellTagsPanel';
import { DataPanel } from './DataPanel';
import { ExperimentsPanel } from './ExperimentsPanel';
import { ModelsPanel } from './ModelsPanel';
import { PipelinePanel } from './PipelinePanel';
import { MlopsContext, MlopsServices, useMlopsState } from './state';

const PANELS: { id: string; label: string; Panel: () => JSX.Element }[] = [
  { id: 'pipeline', label: 'Pipeline', Panel: PipelinePanel },
  { id: 'tags', label: 'Cell tags', Panel: CellTagsPanel },
  { id: 'experiments', label: 'Experiments', Panel: ExperimentsPanel },
  { id: 'data', label: 'Data', Panel: DataPanel },
  { id: 'models', label: 'Models', Panel: ModelsPanel }
];

function Sidebar({ services }: { services: MlopsServices }): JSX.Element {
  const state = useMlopsState(services);
  const [active, setActive] = React.useState(PANELS[0].id);
  return (
    <MlopsContext.Provider value={state}>
      <div className="jp-mlops-sidebar" data-testid="mlops-sidebar">
        <div className="jp-mlops-tabs" role="tablist">
          {PANELS.map(p => (
            <button
              key={p.id}
              role="tab"
              aria-selected={p.id === active}
              className={`jp-mlops-tab${p.id === active ? ' jp-mod-active' : ''}`}
              data-testid={`mlops-tab-${p.id}`}
              onClick={() => setActive(p.id)}
            >
              {p.label}
            </button>
          ))}
        </div>
        {PANELS.map(({ id, Panel }) => (
          <div
            key={id}
            role="tabpanel"
            className="jp-mlops-panel"
            data-testid={`mlops-panel-${id}`}
            hidden={id !== active}
          >
            <Panel />
          </div>
        ))}
      </div>
    </MlopsContext.Provider>
  );
}

export class MlopsSidebar extends ReactWidget {
  constructor(private readonly services: MlopsServices) {
    super();
    this.addClass('jp-mlops-widget');
  }

  protected render(): JSX.Element {
    return <Sidebar services={this.services} />;
  }
}
