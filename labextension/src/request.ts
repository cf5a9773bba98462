/**
 * The one typed client for the server extension's REST routes under `<base_url>mlops/`.
 *
 * Modelled on the JupyterLab extension template's `requestAPI`: every call goes through
 * `ServerConnection.makeRequest`, which sends the token and the XSRF cookie. The routes and
 * their answers are specified in `jupyter_mlops/SIDEBAR_API.md`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { SweepDetail } from './sweep';

/** A request the server refused or could not answer; `message` is its one-line reason. */
export class MlopsError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

/** Call `<base_url>mlops/<endpoint>` and return its JSON answer. */
export async function requestAPI<T>(
  endpoint = '',
  init: RequestInit = {},
  query: Record<string, string | number | undefined> = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const search = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const url = URLExt.join(settings.baseUrl, 'mlops', endpoint) + (search ? `?${search}` : '');

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON (an HTML error page): keep the text for the message below
    }
  }
  if (!response.ok) {
    const reason =
      (data && typeof data === 'object' && (data.error || data.message)) ||
      response.statusText ||
      String(text).slice(0, 200);
    throw new MlopsError(
      typeof reason === 'string' ? reason : JSON.stringify(reason),
      response.status
    );
  }
  return data as T;
}

function post<T>(endpoint: string, body: unknown): Promise<T> {
  return requestAPI<T>(endpoint, { method: 'POST', body: JSON.stringify(body) });
}

const enc = encodeURIComponent;

// --- types -----------------------------------------------------------------------------------

export interface TagRule {
  name: string;
  argument: string | null;
  group: 'role' | 'step' | 'container' | 'resources' | 'policy' | string;
  meaning: string;
  example: string;
  aliases: string[];
}

export interface PipelineStep {
  name: string;
  cells: number[];
  upstream: string[];
  inputs: { name: string; producer: string }[];
  outputs: string[];
  params: string[];
  metrics: string[];
}

export interface PipelineEdge {
  from: string;
  to: string;
  names: string[];
}

export type ParamValue = string | number | boolean | null | unknown[] | Record<string, unknown>;

export interface PipelineSummary {
  ok: true;
  pipeline: string;
  parameters: Record<string, ParamValue>;
  steps: PipelineStep[];
  edges: PipelineEdge[];
  layers: string[][];
}

export interface PipelineProblem {
  ok: false;
  error: { file?: string; cell?: number | null; message: string; kind?: string };
}

export type PipelineAnswer = PipelineSummary | PipelineProblem;

export interface ArtifactInfo {
  type?: string | null;
  /** "arrow", "npy", "joblib", "json" or "pickle": chosen by the value's type. */
  serializer?: string | null;
  size?: number | null;
  /** what it is to the views: a table to profile, a model to publish, or another value */
  kind?: 'table' | 'model' | 'value';
}

export interface StepStatus {
  name: string;
  /** pending, running, done, cached, failed, skipped, interrupted, cancelled */
  status: string;
  duration?: number | null;
  error?: string | { message?: string; cell?: number } | null;
  notebook?: string | null;
  /** Served by the server beside the contract's fields, once the step has finished. */
  artifacts?: Record<string, ArtifactInfo>;
}

export interface RunStatus {
  run_id: string;
  /** `breast_cancer_diagnosis · C=0.5`: the notebook and the values that differ from its own */
  name?: string | null;
  status: string;
  steps: StepStatus[];
  /** the values the run ran with (every parameter, the notebook's defaults included) */
  params?: Record<string, ParamValue>;
  metrics?: Record<string, number>;
  mlflow_run_id?: string | null;
  start?: number | null;
  error?: string | null;
}

/** One of a notebook's past runs (GET runs?path=), newest first. */
export interface PastRun {
  run_id: string;
  /** what a person calls it: `breast_cancer_diagnosis · C=0.5` (the values that differ from the notebook's) */
  name: string;
  pipeline?: string | null;
  status: string;
  start?: number | null;
  end?: number | null;
  params?: Record<string, unknown>;
  mlflow_run_id?: string | null;
}

export interface Experiment {
  id: string;
  name: string;
  last_update?: number | null;
}

export interface ExperimentsAnswer {
  experiments: Experiment[];
  /** with `path`: the name of the experiment that notebook's runs are logged to */
  notebook_experiment?: string;
}

/** A tracked run in domain words: the server reads MLflow's tags, the client never does. */
export interface RunRow {
  run_id: string;
  name: string;
  /** "pipeline" (an nb2pipe run), "step" (one of its steps), "sweep" (its trials open with GET
   * sweeps/<run_id>), "trial" (a sweep's pipeline run) or "run" (any other) */
  kind: 'pipeline' | 'step' | 'sweep' | 'trial' | 'run';
  /** nb2pipe's word where nb2pipe ran it (succeeded, done, cached, …), else MLflow's */
  status: string;
  start?: number | null;
  end?: number | null;
  duration?: number | null;
  /** the nb2pipe run id of a pipeline run or step */
  pipeline_run?: string | null;
  step?: string | null;
  cached_from?: string | null;
  /** a step's saved values: name → {serializer} */
  artifacts: Record<string, { serializer?: string | null }>;
  params: Record<string, string>;
  metrics: Record<string, number>;
}

export interface RunsPage {
  runs: RunRow[];
  next_page_token?: string | null;
}

export interface RunsQuery {
  max_results?: number;
  page_token?: string;
  order_by?: string;
  filter?: string;
}

export interface MlflowRunDetail {
  run: RunRow;
  children: RunRow[];
  history: Record<string, [number, number][]>;
}

export interface ColumnProfile {
  name: string;
  dtype: string;
  missing: number;
  count: number;
  mean?: number | null;
  std?: number | null;
  min?: number | string | null;
  max?: number | string | null;
  top?: string | number | null;
}

export interface DataProfile {
  columns: ColumnProfile[];
  rows: number;
  charts: Record<string, unknown>[];
}

export interface DriftFeature {
  name: string;
  test: string;
  statistic: number | null;
  p_value: number | null;
  psi: number | null;
  drifted: boolean;
}

export interface DriftReport {
  features: DriftFeature[];
  drifted: boolean;
  chart: Record<string, unknown>;
}

export interface RegisteredModel {
  name: string;
  aliases: Record<string, string>;
  latest_version: string | null;
  description?: string | null;
  last_update?: number | null;
}

/** The gate's last decision on a version (promote). */
export interface GateRecord {
  decision: string;
  metric: string | null;
  direction: string | null;
  threshold: number | null;
  challenger_value: number | null;
  champion_value: number | null;
  champion_version: string | null;
  decided_by: string | null;
  decided_at: string | null;
}

/** The pre-deployment checks last recorded on a version (`nb2pipe deploy check`, a swap). */
export interface DeployChecks {
  passed: boolean;
  at: string;
  where: string;
  checks: { name: string; ok: boolean; detail: string }[];
}

/** The gate's verdict on one slice of the data (promote --slices). */
export interface SliceResult {
  /** e.g. region=north */
  slice: string;
  rows: number | null;
  challenger: number | null;
  champion: number | null;
  /** how much worse the challenger does on the slice (positive: worse) */
  drop: number | null;
  /** why the slice was not judged (too few rows), else null */
  skipped: string | null;
  /** the drop stayed within the threshold; null: not judged */
  passed: boolean | null;
}

/** The gate's table per slice, worst drop first. */
export interface Slices {
  metric: string | null;
  /** the largest drop a slice may show (null: not recorded) */
  threshold: number | null;
  passed: boolean;
  results: SliceResult[];
}

/** One recorded move of an alias: who moved it, when, why, and the gate's decision. */
export interface AliasMove {
  alias: string;
  from: string | null;
  /** null: the alias was removed */
  to: string | null;
  who: string;
  when: string;
  why: string;
  /** what moved it: publish, gate, rollout, rollback, manual */
  kind: string;
  gate?: string | null;
}

export interface ModelVersion {
  version: string;
  aliases: string[];
  run_id: string;
  /** the pipeline run it was published from, by name and nb2pipe id, when known */
  pipeline_run: string | null;
  run_name: string | null;
  step: string | null;
  artifact: string | null;
  status?: string;
  metrics: Record<string, number>;
  gate: GateRecord | null;
  /** null: the registry holds no checks for this version */
  checks: DeployChecks | null;
  /** why a serving process refused to swap it in, if one did */
  rejected?: string | null;
  /** null: the registry holds no per-slice results for this version */
  slices: Slices | null;
  /** the model card (markdown) */
  description: string;
  created?: number | null;
}

export interface ModelDetail {
  name: string;
  description?: string;
  aliases: Record<string, string>;
  versions: ModelVersion[];
  /** every recorded alias move, newest first; null: the registry records none for this model */
  history: AliasMove[] | null;
  /** the version a rollback makes champion again (the champion before); null: none recorded */
  rollback_to: string | null;
}

export interface MoveAliasRequest {
  alias: string;
  version: string;
  reason?: string;
}

export interface PublishRequest {
  run_id: string;
  step: string;
  artifact: string;
  metric?: string;
  /** The notebook, so that runs this server did not start are found in its project. */
  path?: string;
}

export interface PromoteRequest {
  metric: string;
  greater_is_better?: boolean;
  threshold?: number;
}

export interface PromoteAnswer {
  promoted: boolean;
  challenger: string | null;
  champion: string | null;
  values: Record<string, number | null>;
  reason?: string;
}

// --- calls -----------------------------------------------------------------------------------

export const api = {
  grammar: () => requestAPI<{ tags: TagRule[] }>('grammar'),

  /** Compile `path`, or its unsaved `content` (notebook JSON) when given. */
  pipeline: (path: string, content?: unknown) =>
    post<PipelineAnswer>('pipeline', content === undefined ? { path } : { path, content }),

  startRun: (
    path: string,
    options: { params?: Record<string, ParamValue>; resume?: string; force?: boolean } = {}
  ) => post<{ run_id: string }>('runs', { path, ...options }),

  /** A run's status; `path` (the notebook) finds runs this server did not start. */
  run: (runId: string, path?: string) => requestAPI<RunStatus>(`runs/${enc(runId)}`, {}, { path }),

  /** The notebook's past runs (without `path`: every run of the server root's project). */
  pastRuns: (path: string | undefined, maxResults = 50) =>
    requestAPI<{ runs: PastRun[] }>('runs', {}, { path, max_results: maxResults }),

  /** A step's executed notebook, rendered read-only: `{title: "<step> · <run id>", html}`. */
  executedNotebook: (runId: string, step: string, path?: string) =>
    requestAPI<{ title: string; html: string }>(
      `runs/${enc(runId)}/steps/${enc(step)}/notebook`,
      {},
      { path }
    ),

  cancelRun: (runId: string) =>
    requestAPI<{ status: string }>(`runs/${enc(runId)}`, { method: 'DELETE' }),

  /** Every experiment; with `path`, also the one that notebook's runs go to. */
  experiments: (path?: string) => requestAPI<ExperimentsAnswer>('experiments', {}, { path }),

  runs: (experimentId: string, query: RunsQuery = {}) =>
    requestAPI<RunsPage>(`experiments/${enc(experimentId)}/runs`, {}, { ...query }),

  mlflowRun: (runId: string) => requestAPI<MlflowRunDetail>(`mlflow-runs/${enc(runId)}`),
  sweep: (runId: string) => requestAPI<SweepDetail>(`sweeps/${enc(runId)}`),
  debugStep: (runId: string, step: string, path: string) =>
    requestAPI<{ code: string; run_id: string; step: string; inputs: string[]; params: string[] }>(
      `runs/${enc(runId)}/steps/${enc(step)}/debug`,
      {},
      { path }
    ),
  dataChanges: (path: string) =>
    requestAPI<{ changes: { path: string; run_id: string; message: string; gone: boolean }[] }>(
      'data/changes',
      {},
      { path }
    ),

  profile: (runId: string, step: string, name: string, path?: string) =>
    requestAPI<DataProfile>('data/profile', {}, { run_id: runId, step, name, path }),

  /** `reference` and `current` are `<nb2pipe run id>:<step>`. */
  drift: (name: string, reference: string, current: string, path?: string) =>
    requestAPI<DriftReport>('data/drift', {}, { name, reference, current, path }),

  models: () => requestAPI<{ models: RegisteredModel[] }>('models'),

  model: (name: string) => requestAPI<ModelDetail>(`models/${enc(name)}`),

  publish: (name: string, body: PublishRequest) =>
    post<{ version: string; aliases: string[] }>(`models/${enc(name)}/publish`, body),

  promote: (name: string, body: PromoteRequest) =>
    post<PromoteAnswer>(`models/${enc(name)}/promote`, body),

  moveAlias: (name: string, body: MoveAliasRequest) =>
    post<AliasMove>(`models/${enc(name)}/aliases`, body),

  rollback: (name: string, body: { reason?: string }) =>
    post<AliasMove>(`models/${enc(name)}/rollback`, body)
};

/** The message to show for a failed call. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
