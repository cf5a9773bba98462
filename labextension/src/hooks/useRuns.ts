/** A notebook's pipeline runs, and what one run's steps saved, as the server says them. */
import * as React from 'react';

import { api, errorText, PastRun } from '../request';
import { StepArtifacts, stepArtifacts } from '../runs';
import { useLoad } from './useLoad';

/**
 * The pipeline runs of notebook `path` (undefined: every run of the server root's project),
 * newest first; reloads when `version` changes (a run ended) or on `reload()`.
 */
export function usePastRuns(
  path: string | undefined,
  version: number
): { runs: PastRun[]; error: string | null; reload: () => void } {
  const [runs, setRuns] = React.useState<PastRun[]>([]);
  const [error, setError] = React.useState<string | null>(null);
  const [tick, setTick] = React.useState(0);
  useLoad(
    () => api.pastRuns(path),
    answer => {
      setRuns(answer.runs);
      setError(null);
    },
    e => setError(errorText(e)),
    [path, version, tick]
  );
  return { runs, error, reload: () => setTick(t => t + 1) };
}

/** The steps of run `runId` with what each saved, and the metrics the run recorded. */
export function useRunArtifacts(
  runId: string | undefined,
  path: string | undefined
): { steps: StepArtifacts[]; metrics: Record<string, number>; error: string | null } {
  const [steps, setSteps] = React.useState<StepArtifacts[]>([]);
  const [metrics, setMetrics] = React.useState<Record<string, number>>({});
  const [error, setError] = React.useState<string | null>(null);
  useLoad(
    () => {
      setSteps([]);
      setMetrics({});
      setError(null);
      return runId ? api.run(runId, path) : null;
    },
    status => {
      setSteps(stepArtifacts(status));
      setMetrics(status.metrics ?? {});
    },
    e => setError(errorText(e)),
    [runId, path]
  );
  return { steps, metrics, error };
}
