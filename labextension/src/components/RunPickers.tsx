/** Pickers of a pipeline run, one of its steps and one of that step's saved values. */
import * as React from 'react';

import { PastRun } from '../request';
import { artifactsOf, runChoice, StepArtifacts } from '../runs';
import { Field, Select } from './Form';

/** A select box of pipeline runs by name (the id in each option's tooltip), newest first. */
export function RunSelect(props: {
  testId: string;
  label: string;
  runs: PastRun[];
  value: string;
  onChange: (runId: string) => void;
  empty: string;
}): JSX.Element {
  const { runs, ...rest } = props;
  return <Select {...rest} choices={runs.map(runChoice)} />;
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
          label="step"
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
          label="artifact"
          value={artifact}
          choices={Object.entries(artifacts).map(([name, saved]) => ({
            value: name,
            label: saved.serializer ? `${name} (${saved.serializer})` : name
          }))}
          onChange={onArtifact}
        />
      </Field>
    </>
  );
}
