/**
 * Pipeline runs as the Data and Models views pick them: a run, its steps and what each saved.
 * The server says all of it in domain words (GET runs, runs/<id>); nothing here reads MLflow.
 */
import { PastRun, RunStatus } from './request';

/** A saved value as the pickers show it: its format, and what it is to the views. */
export interface SavedValue {
  serializer: string;
  kind: 'table' | 'model' | 'value';
}

/** A step and what it saved for the steps after it (by name). */
export interface StepArtifacts {
  step: string;
  artifacts: Record<string, SavedValue>;
}

/** The steps of a run that saved something, with what each saved. */
export function stepArtifacts(status: RunStatus): StepArtifacts[] {
  return status.steps
    .filter(s => s.artifacts !== undefined && Object.keys(s.artifacts).length > 0)
    .map(s => ({
      step: s.name,
      artifacts: Object.fromEntries(
        Object.entries(s.artifacts ?? {}).map(([name, a]) => [
          name,
          { serializer: a.serializer ?? '', kind: a.kind ?? 'value' }
        ])
      )
    }));
}

/** The artifacts of `step` among `steps`. */
export function artifactsOf(steps: StepArtifacts[], step: string): Record<string, SavedValue> {
  return steps.find(s => s.step === step)?.artifacts ?? {};
}

/** The last step's first saved value of `kind` (the model to publish, the table to profile). */
export function findArtifact(
  steps: StepArtifacts[],
  kind: SavedValue['kind']
): { step: string; artifact: string } | undefined {
  for (const s of [...steps].reverse()) {
    for (const [artifact, saved] of Object.entries(s.artifacts)) {
      if (saved.kind === kind) {
        return { step: s.step, artifact };
      }
    }
  }
  return undefined;
}

/** A run as a select box offers it: its name, its status, and the id it is told apart by. */
export function runChoice(run: PastRun): { value: string; label: string; title: string } {
  return {
    value: run.run_id,
    label: `${run.name} · ${run.status}`,
    title: `run ${run.run_id}`
  };
}
