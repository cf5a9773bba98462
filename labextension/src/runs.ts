/**
 * Pipeline runs as the Data and Models panels pick them: the open notebook's runs, newest
 * first, and each run's steps with their artifacts and serializers.
 *
 * Sources, best first: the server's own run records (`GET runs?path=`, `GET runs/<id>`, which
 * list every step's artifacts), then the tracked MLflow runs (their step runs carry the same
 * facts as `nb2pipe.artifact.<name>.serializer` tags), then the compiled pipeline's outputs.
 */
import * as React from 'react';

import { useLoad } from './components';
import { api, errorText, Experiment, RunRow } from './request';
import { useMlops } from './state';

export interface PipelineRun {
  /** nb2pipe's run id: what data/profile, data/drift and publish take. */
  runId: string;
  mlflowRunId?: string | null;
  status: string;
  start?: number | null;
  label: string;
}

export interface StepArtifacts {
  step: string;
  /** artifact name → serializer ("parquet", "npy", "joblib", "json", "pickle"; "" if unknown). */
  artifacts: Record<string, string>;
}

const ARTIFACT_TAG = /^nb2pipe\.artifact\.(.+)\.serializer$/;

export function newest(experiments: Experiment[]): Experiment | undefined {
  const time = (e: Experiment) =>
    typeof e.last_update === 'number' ? e.last_update : Date.parse(String(e.last_update ?? 0)) || 0;
  return [...experiments].sort((a, b) => time(b) - time(a))[0];
}

/** A start time (seconds or milliseconds since the epoch, or ISO text) for people. */
export function startText(start: RunRow['start']): string {
  if (start === null || start === undefined || start === '') {
    return '';
  }
  const n = typeof start === 'number' ? start : Number(start);
  const date = Number.isFinite(n) ? new Date(n < 1e12 ? n * 1000 : n) : new Date(String(start));
  return isNaN(date.getTime()) ? String(start) : date.toLocaleString();
}

function label(runId: string, status: string, start: RunRow['start']): string {
  return `${runId} · ${status.toLowerCase()} · ${startText(start)}`;
}

async function trackedRuns(): Promise<PipelineRun[]> {
  const { experiments } = await api.experiments();
  const experiment = newest(experiments);
  if (!experiment) {
    return [];
  }
  const page = await api.runs(experiment.id, {
    max_results: 100,
    order_by: 'attributes.start_time DESC'
  });
  return page.runs
    .filter(r => r.tags['nb2pipe.run_id'] && !r.tags['mlflow.parentRunId'])
    .map(r => ({
      runId: r.tags['nb2pipe.run_id'],
      mlflowRunId: r.run_id,
      status: r.status,
      start: typeof r.start === 'number' ? r.start : null,
      label: label(r.tags['nb2pipe.run_id'], r.status, r.start)
    }));
}

/** The runs to pick from, newest first; reloads when a run starts or ends. */
export function usePipelineRuns(): {
  runs: PipelineRun[];
  error: string | null;
  reload: () => void;
} {
  const { notebook, runsVersion, lastRunId } = useMlops();
  const [runs, setRuns] = React.useState<PipelineRun[]>([]);
  const [error, setError] = React.useState<string | null>(null);
  const [tick, setTick] = React.useState(0);
  const path = notebook?.context.path;

  useLoad(
    async (): Promise<PipelineRun[]> => {
      if (path) {
        try {
          const { runs } = await api.pastRuns(path);
          return runs.map(r => ({
            runId: r.run_id,
            mlflowRunId: r.mlflow_run_id,
            status: r.status ?? '',
            start: r.start,
            label: label(r.run_id, r.status ?? '', r.start)
          }));
        } catch {
          // an older server without the listing: fall back on the tracking store
        }
      }
      return trackedRuns();
    },
    found => {
      setRuns(found);
      setError(null);
    },
    e => setError(errorText(e)),
    [path, runsVersion, lastRunId, tick]
  );

  return { runs, error, reload: () => setTick(t => t + 1) };
}

/** The steps of a run with their artifacts, and the metrics the run recorded. */
export function useRunArtifacts(run: PipelineRun | undefined): {
  steps: StepArtifacts[];
  metrics: Record<string, number>;
} {
  const { notebook, pipeline } = useMlops();
  const [steps, setSteps] = React.useState<StepArtifacts[]>([]);
  const [metrics, setMetrics] = React.useState<Record<string, number>>({});
  const runId = run?.runId;
  const mlflowRunId = run?.mlflowRunId;
  const path = notebook?.context.path;

  React.useEffect(() => {
    setSteps([]);
    setMetrics({});
    if (!runId) {
      return;
    }
    let stale = false;
    const load = async (): Promise<[StepArtifacts[], Record<string, number>]> => {
      try {
        const status = await api.run(runId, path);
        const found = status.steps
          .filter(s => s.artifacts !== undefined)
          .map(s => ({
            step: s.name,
            artifacts: Object.fromEntries(
              Object.entries(s.artifacts ?? {}).map(([name, a]) => [name, a.serializer ?? ''])
            )
          }));
        if (found.length > 0 || !mlflowRunId) {
          return [found, status.metrics ?? {}];
        }
      } catch {
        if (!mlflowRunId) {
          throw new Error(`run ${runId} not found`);
        }
      }
      const detail = await api.mlflowRun(mlflowRunId!);
      const found: StepArtifacts[] = [];
      for (const child of detail.children) {
        const tags = child.tags ?? {};
        if (!tags['nb2pipe.step']) {
          continue;
        }
        const artifacts: Record<string, string> = {};
        for (const [key, value] of Object.entries(tags)) {
          const m = ARTIFACT_TAG.exec(key);
          if (m) {
            artifacts[m[1]] = value;
          }
        }
        found.push({ step: tags['nb2pipe.step'], artifacts });
      }
      return [found, detail.run.metrics ?? {}];
    };
    load()
      .then(([found, values]) => {
        if (!stale) {
          setSteps(found);
          setMetrics(values);
        }
      })
      .catch(e => console.warn('jupyter-mlops:', errorText(e)));
    return () => {
      stale = true;
    };
  }, [runId, mlflowRunId, path]);

  if (steps.length === 0 && runId && pipeline?.ok) {
    // nothing recorded (yet): offer what the compiled pipeline says each step produces
    return {
      steps: pipeline.steps.map(s => ({
        step: s.name,
        artifacts: Object.fromEntries(s.outputs.map(o => [o, '']))
      })),
      metrics
    };
  }
  return { steps, metrics };
}

/** The first (step, artifact) whose serializer is one of `kinds`, searching from the last step. */
export function findArtifact(
  steps: StepArtifacts[],
  kinds: string[]
): { step: string; artifact: string } | undefined {
  for (const s of [...steps].reverse()) {
    for (const [artifact, serializer] of Object.entries(s.artifacts)) {
      if (kinds.includes(serializer)) {
        return { step: s.step, artifact };
      }
    }
  }
  return undefined;
}
