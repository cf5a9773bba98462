/**
 * Data versions by content: the data files the notebook's latest run read that differ now
 * ("data.csv changed since run X"), as `nb2pipe status` says (GET data/changes).
 */
import * as React from 'react';

import { api } from './request';

/** One line per changed file; nothing when none changed. `refresh`: reload when it changes. */
export function DataChanges(props: { path: string; refresh: unknown }): JSX.Element | null {
  const [lines, setLines] = React.useState<string[]>([]);
  React.useEffect(() => {
    let stale = false;
    if (!props.path) {
      setLines([]);
      return;
    }
    api
      .dataChanges(props.path)
      .then(answer => !stale && setLines(answer.changes.map(c => c.message)))
      .catch(() => !stale && setLines([]));
    return () => {
      stale = true;
    };
  }, [props.path, props.refresh]);
  if (lines.length === 0) {
    return null;
  }
  return (
    <div className="jp-mlops-note" data-testid="mlops-data-changes">
      {lines.map(line => (
        <div key={line}>{line}</div>
      ))}
    </div>
  );
}
