/**
 * The left sidebar: one tab per panel. Every panel stays mounted when hidden, so a run keeps
 * being watched while the user looks at experiments or models, and each sits behind its own
 * error boundary: one panel's failure shows in that panel, the others keep working.
 */
import {
  LabIcon,
  listIcon,
  ReactWidget,
  tableRowsIcon,
  tagIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { CellTagsPanel } from './CellTagsPanel';
import { DataPanel } from './DataPanel';
import { ExperimentsPanel } from './ExperimentsPanel';
import { modelIcon, pipelineIcon } from './icons';
import { ModelsPanel } from './ModelsPanel';
import { PipelinePanel } from './PipelinePanel';
import { MlopsContext, MlopsServices, useMlopsState } from './state';

const PANELS: { id: string; label: string; icon: LabIcon; Panel: () => JSX.Element }[] = [
  { id: 'pipeline', label: 'Pipeline', icon: pipelineIcon, Panel: PipelinePanel },
  { id: 'tags', label: 'Tags', icon: tagIcon, Panel: CellTagsPanel },
  { id: 'experiments', label: 'Runs', icon: listIcon, Panel: ExperimentsPanel },
  { id: 'data', label: 'Data', icon: tableRowsIcon, Panel: DataPanel },
  { id: 'models', label: 'Models', icon: modelIcon, Panel: ModelsPanel }
];

/** Shows a panel's error in the panel (with a way back) instead of unmounting the sidebar. */
export class PanelBoundary extends React.Component<
  { name: string; children: React.ReactNode },
  { error: Error | null }
> {
  state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error): { error: Error } {
    return { error };
  }

  componentDidCatch(error: Error): void {
    console.error(`jupyter-mlops: the ${this.props.name} panel failed:`, error);
  }

  render(): React.ReactNode {
    const { error } = this.state;
    if (error === null) {
      return this.props.children;
    }
    return (
      <div className="jp-mlops-error" data-testid={`mlops-panel-error-${this.props.name}`}>
        The {this.props.name} panel failed: {error.message}{' '}
        <a
          href="#"
          onClick={e => {
            e.preventDefault();
            this.setState({ error: null });
          }}
        >
          show it again
        </a>
      </div>
    );
  }
}

function Sidebar({ services }: { services: MlopsServices }): JSX.Element {
  const state = useMlopsState(services);
  const [active, setActive] = React.useState(PANELS[0].id);
  return (
    <MlopsContext.Provider value={state}>
      <div className="jp-mlops-sidebar" data-testid="mlops-sidebar">
        <div className="jp-Toolbar jp-mlops-tabs" role="tablist">
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
        {PANELS.map(({ id, label, Panel }) => (
          <div
            key={id}
            role="tabpanel"
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
