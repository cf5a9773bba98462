/**
 * Form pieces in JupyterLab's own look: labelled rows, select boxes and switches. Every
 * `data-testid` is the caller's: the UI tests find the elements by them.
 */
import { HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

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
}): JSX.Element {
  return (
    <button
      type="button"
      className="jp-switch jp-mlops-switch"
      role="switch"
      aria-checked={props.checked}
      data-testid={props.testId}
      title={props.title}
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
  /** what the box chooses, for assistive technology (a visible label is better still) */
  label: string;
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
  const { testId, label, value, choices, onChange, none, empty, disabled } = props;
  return (
    <HTMLSelect
      className="jp-mlops-select"
      data-testid={testId}
      aria-label={label}
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
