/**
 * What the sidebar remembers per notebook: each notebook's own compile result and run, kept
 * under its path and only ever written under the path the work was started for. A panel reads
 * the entry of the notebook in front of the user, so one notebook's run or compile time can
 * never show in another's panel (the answer of a request made for notebook A lands in A's
 * entry, even when the user has moved to B meanwhile).
 */
import type { PipelineAnswer } from './request';

export class PerNotebook<T> {
  private readonly entries = new Map<string, T>();

  constructor(private readonly empty: () => T) {}

  /** The entry of `path` (a fresh empty one, not stored, when it has none). */
  get(path: string | null | undefined): T {
    return (path ? this.entries.get(path) : undefined) ?? this.empty();
  }

  has(path: string | null | undefined): boolean {
    return Boolean(path) && this.entries.has(path!);
  }

  /** Change the entry of `path` (and only it); returns the new entry. */
  update(path: string, change: (entry: T) => T): T {
    const next = change(this.get(path));
    this.entries.set(path, next);
    return next;
  }

  /** A notebook renamed or moved keeps its entry. */
  rename(from: string, to: string): void {
    const entry = this.entries.get(from);
    if (entry !== undefined) {
      this.entries.delete(from);
      this.entries.set(to, entry);
    }
  }

  forget(path: string): void {
    this.entries.delete(path);
  }
}

/** Why the notebook does not compile ("cell 3: …"), or null when it does (or is not known). */
export function compileError(pipeline: PipelineAnswer | null): string | null {
  if (!pipeline || pipeline.ok) {
    return null;
  }
  return (pipeline.error.cell ? `cell ${pipeline.error.cell}: ` : '') + pipeline.error.message;
}

/** The outcome of the Compile button for one notebook: when, and what it found. */
export interface CompileResult {
  /** when the compile finished (ms since the epoch) */
  at: number;
  ok: boolean;
  /** the step count of that compile, not of a later automatic one */
  steps: number;
  message: string;
}

/** The Compile button's outcome as one line. */
export function compileLine(result: CompileResult): string {
  const at = new Date(result.at).toLocaleTimeString();
  return result.ok
    ? `Compiled at ${at}: ${result.steps} steps, no errors.`
    : `Compiled at ${at}: the notebook does not compile: ${result.message}`;
}

/** The steps a run's table lists: the run's own, never steps added to the notebook since. */
export function runSteps<S extends { name: string }>(
  runSteps: S[],
  pipelineSteps: string[] | null
): S[] {
  if (!pipelineSteps) {
    return runSteps;
  }
  // in the pipeline's order where both know the step; the run's own steps only
  const order = new Map(pipelineSteps.map((name, i) => [name, i]));
  return [...runSteps].sort(
    (a, b) =>
      (order.get(a.name) ?? Number.MAX_SAFE_INTEGER) -
      (order.get(b.name) ?? Number.MAX_SAFE_INTEGER)
  );
}
