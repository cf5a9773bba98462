/**
 * Data versions by content: the data files the notebook's latest run read that differ now
 * ("data.csv changed since run X"), as `nb2pipe status` says (GET data/changes).
 */
import * as React from 'react';

import { useLoad } from '../hooks/useLoad';
import { api } from '../request';

/** One line per changed file; nothing when none changed. `refresh`: look again when it changes. */
export function DataChanges(props: { path: string; refresh: unknown }): JSX.Element | null {
  const [found, setFound] = React.useState<{ path: string; lines: string[] } | null>(null);
  useLoad(
    () => api.dataChanges(props.path),
    answer => setFound({ path: props.path, lines: answer.changes.map(c => c.message) }),
    () => setFound(null), // nothing to say is not an error of the panel
    [props.path, props.refresh]
  );
  // only this notebook's answer, never the one before it
  const lines = found?.path === props.path ? found.lines : [];
  if (lines.length === 0) {
    return null;
  }
  return (
    <div className="jp-mlops-note" data-testid="mlops-data-changes" role="status">
      {lines.map(line => (
        <div key={line}>{line}</div>
      ))}
    </div>
  );
}
