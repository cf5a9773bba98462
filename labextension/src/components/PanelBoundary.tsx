/** A panel's or view's failure shown in place (with a way back), not an empty sidebar. */
import * as React from 'react';

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
