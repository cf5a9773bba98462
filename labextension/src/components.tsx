/**
 * The small pieces the panels share: labelled form rows, JupyterLab's select boxes and
 * switches, run / step / artifact pickers, error and note lines, and the hooks behind their
 * loading and busy states. Every `data-testid` is the caller's: the UI tests find the elements
 * by them.
 */
import { HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import { errorText } from './request';
import type { PipelineAnswer } from './request';
import type { PipelineRun, StepArtifacts } from './runs';

// --- form rows and select boxes ------------------------------------------------------------

/** A labelled form row: the label's text, then the control(s). */
export function Field(props: {
  label: string;
  title?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <label className="jp-mlops-field" title={props.title}>
      <span>{props.label}</span>
      {props.children}
    </label>
  );
}

/**
 * An on/off setting drawn as JupyterLab's own switch (the markup and classes of
 * `@jupyterlab/ui-components`' Switch widget, which has no React form): its label, then the
 * track. `role="switch"` with `aria-checked` keeps it a checkbox to assistive technology.
 */
export function Check(props: {
  label: string;
  testId: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  title?: string;
  disabled?: boolean;
}): JSX.Element {
  return (
    <button
      type="button"
      className="jp-switch jp-mlops-switch"
      role="switch"
      aria-checked={props.checked}
      data-testid={props.testId}
      title={props.title}
      disabled={props.disabled}
      onClick={() => props.onChange(!props.checked)}
    >
      <span className="jp-switch-label">{props.label}</span>
      <span className="jp-switch-track" aria-hidden="true" />
    </button>
  );
}

/** One option of a select box; a plain string is its own value and label. */
export type Choice = string | { value: string; label: string; title?: string };

export interface SelectProps {
  testId: string;
  value: string;
  choices: Choice[];
  onChange: (value: string) => void;
  /** An option with the value '' before the choices ("none", "pick a step"). */
  none?: string;
  /** The option (value '') shown when there is nothing to choose from. */
  empty?: string;
  disabled?: boolean;
}

export function Select(props: SelectProps): JSX.Element {
  const { testId, value, choices, onChange, none, empty, disabled } = props;
  return (
    <HTMLSelect
      className="jp-mlops-select"
      data-testid={testId}
      value={value}
      disabled={disabled}
      onChange={e => onChange(e.target.value)}
    >
      {none !== undefined && <option value="">{none}</option>}
      {choices.length === 0 && empty !== undefined && <option value="">{empty}</option>}
      {choices.map(choice => {
        const { value, label, title } =
          typeof choice === 'string' ? { value: choice, label: choice, title: undefined } : choice;
        return (
          <option key={value} value={value} title={title}>
            {label}
          </option>
        );
      })}
    </HTMLSelect>
  );
}

// --- pickers of runs, steps and artifacts ----------------------------------------------------

/** A select box of pipeline runs (by nb2pipe run id), newest first as `runs` come. */
export function RunSelect(props: {
  testId: string;
  runs: PipelineRun[];
  value: string;
  onChange: (runId: string) => void;
  empty: string;
}): JSX.Element {
  const { runs, ...rest } = props;
  return <Select {...rest} choices={runs.map(r => ({ value: r.runId, label: r.label }))} />;
}

/** The artifacts of `step` among `steps` (name → serializer). */
export function artifactsOf(steps: StepArtifacts[], step: string): Record<string, string> {
  return steps.find(s => s.step === step)?.artifacts ?? {};
}

/**
 * The "step" and "artifact" rows of a form (test ids `<testId>-step`, `<testId>-artifact`).
 * Picking another step clears the artifact picked before.
 */
export function StepArtifactFields(props: {
  testId: string;
  steps: StepArtifacts[];
  step: string;
  artifact: string;
  onStep: (step: string) => void;
  onArtifact: (artifact: string) => void;
  /** The empty choice of the step box, if it has one. */
  noStep?: string;
}): JSX.Element {
  const { testId, steps, step, artifact, onStep, onArtifact, noStep } = props;
  const artifacts = artifactsOf(steps, step);
  return (
    <>
      <Field label="step">
        <Select
          testId={`${testId}-step`}
          value={step}
          none={noStep}
          choices={steps.map(s => s.step)}
          onChange={value => {
            onStep(value);
            onArtifact('');
          }}
        />
      </Field>
      <Field label="artifact">
        <Select
          testId={`${testId}-artifact`}
          value={artifact}
          choices={Object.entries(artifacts).map(([name, serializer]) => ({
            value: name,
            label: serializer ? `${name} (${serializer})` : name
          }))}
          onChange={onArtifact}
        />
      </Field>
    </>
  );
}

// --- status lines ----------------------------------------------------------------------------

function Line(props: {
  kind: 'error' | 'note';
  text: React.ReactNode;
  testId?: string;
}): JSX.Element | null {
  if (!props.text) {
    return null;
  }
  return (
    <div className={`jp-mlops-${props.kind}`} data-testid={props.testId}>
      {props.text}
    </div>
  );
}

/** An error line, or nothing while there is no error. */
export function ErrorLine(props: { error: React.ReactNode; testId?: string }): JSX.Element | null {
  return <Line kind="error" text={props.error} testId={props.testId} />;
}

/** A note line (the outcome of an action), or nothing while there is none. */
export function NoteLine(props: { note: React.ReactNode; testId?: string }): JSX.Element | null {
  return <Line kind="note" text={props.note} testId={props.testId} />;
}

/** Why the notebook does not compile ("cell 3: …"), or null when it does (or is not known). */
export function compileError(pipeline: PipelineAnswer | null): string | null {
  if (!pipeline || pipeline.ok) {
    return null;
  }
  return (pipeline.error.cell ? `cell ${pipeline.error.cell}: ` : '') + pipeline.error.message;
}

// --- hooks -----------------------------------------------------------------------------------

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
  }, deps);
}

/**
 * The busy flag and error of a panel's actions: `act(work, failed)` clears the error and sets
 * busy while `work` runs; when it throws, `failed` runs and its message becomes the error.
 */
export function useAction(): {
  busy: boolean;
  error: string | null;
  setError: (error: string | null) => void;
  act: (work: () => Promise<void>, failed?: () => void) => Promise<void>;
} {
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const act = async (work: () => Promise<void>, failed?: () => void) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (e) {
      failed?.();
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, act };
}
