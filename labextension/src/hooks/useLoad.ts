import * as React from 'react';

import { errorText } from '../request';

/**
 * Load whenever `deps` change: `load()` starts the request (or returns null to skip), and its
 * answer goes to `done`, its error to `failed`, unless a newer load started meanwhile or the
 * component went away.
 */
export function useLoad<T>(
  load: () => Promise<T> | null,
  done: (value: T) => void,
  failed: (error: unknown) => void,
  deps: React.DependencyList
): void {
  React.useEffect(() => {
    const loading = load();
    if (loading === null) {
      return;
    }
    let stale = false;
    loading
      .then(value => {
        if (!stale) {
          done(value);
        }
      })
      .catch(error => {
        if (!stale) {
          failed(error);
        }
      });
    return () => {
      stale = true;
    };
    // the caller lists what the load depends on
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
}

/** A long action's state: what it is doing, since when, and how it ended. */
export interface Action {
  /** what is going on ("publishing breast_cancer_diagnosis…"), null when idle */
  busy: string | null;
  /** when the action started (ms since the epoch), for its elapsed time */
  since: number | null;
  error: string | null;
  setError: (error: string | null) => void;
  /** Run `work`, saying `doing` meanwhile; its error (if any) becomes `error`. */
  act: (doing: string, work: () => Promise<void>, failed?: () => void) => Promise<void>;
}

/** The state of a panel's long actions (publish, promote, compile, move an alias). */
export function useAction(): Action {
  const [busy, setBusy] = React.useState<string | null>(null);
  const [since, setSince] = React.useState<number | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const act = async (doing: string, work: () => Promise<void>, failed?: () => void) => {
    setBusy(doing);
    setSince(Date.now());
    setError(null);
    try {
      await work();
    } catch (e) {
      failed?.();
      setError(errorText(e));
    } finally {
      setBusy(null);
      setSince(null);
    }
  };
  return { busy, since, error, setError, act };
}
