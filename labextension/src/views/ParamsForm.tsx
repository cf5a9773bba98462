/**
 * The parameters of the notebook's `parameters` cell as a form: filled with the values of the
 * run on display (Resume continues that run with them), typed back like the notebook's values.
 */
import * as React from 'react';

import { ParamValue } from '../request';

export function ParamsForm(props: {
  defaults: Record<string, ParamValue>;
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
  /** the run whose values the form shows, if any */
  from: string | null;
  /** the user changed a value shown from `from` */
  changed: boolean;
  /** `from` can be resumed */
  resumable: boolean;
  onReset: () => void;
}): JSX.Element {
  const { defaults, values, onChange, from, changed, resumable, onReset } = props;
  return (
    <details className="jp-mlops-section" open data-testid="mlops-params">
      <summary>Parameters</summary>
      {from && (
        <div className="jp-mlops-muted" data-testid="mlops-params-from" data-run={from}>
          {changed
            ? `Changed from run ${from}: a run with these values is a new run. `
            : resumable
              ? `The values of run ${from}: Resume continues it with them. `
              : `The values of run ${from}. `}
          <a
            href="#"
            data-testid="mlops-params-reset"
            title="Show the notebook's own parameter values"
            onClick={e => {
              e.preventDefault();
              onReset();
            }}
          >
            notebook&apos;s values
          </a>
        </div>
      )}
      <div className="jp-mlops-form">
        {Object.entries(defaults).map(([name, value]) => {
          const shown = values[name] ?? paramText(value);
          const set = (text: string) => onChange({ ...values, [name]: text });
          return (
            <label key={name} className="jp-mlops-field">
              <span>{name}</span>
              {typeof value === 'boolean' ? (
                <input
                  type="checkbox"
                  data-testid={`mlops-param-${name}`}
                  checked={shown === 'true'}
                  onChange={e => set(String(e.target.checked))}
                />
              ) : (
                <input
                  type={typeof value === 'number' ? 'number' : 'text'}
                  step="any"
                  className="jp-mlops-input"
                  data-testid={`mlops-param-${name}`}
                  value={shown}
                  onChange={e => set(e.target.value)}
                />
              )}
            </label>
          );
        })}
      </div>
    </details>
  );
}

export function paramText(value: ParamValue | unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The parameters that differ from the notebook's, typed like the notebook's values. */
export function parseParams(
  texts: Record<string, string>,
  defaults: Record<string, ParamValue>
): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [name, text] of Object.entries(texts)) {
    if (!(name in defaults)) {
      continue; // a parameter the notebook no longer has
    }
    const original = defaults[name];
    if (text === paramText(original)) {
      continue;
    }
    if (typeof original === 'string') {
      out[name] = text;
    } else if (typeof original === 'number') {
      const number = Number(text);
      if (text.trim() === '' || !Number.isFinite(number)) {
        throw new Error(`parameter ${name}: ${JSON.stringify(text)} is not a number`);
      }
      out[name] = number;
    } else if (typeof original === 'boolean') {
      out[name] = text === 'true';
    } else {
      try {
        out[name] = JSON.parse(text);
      } catch {
        throw new Error(`parameter ${name}: ${JSON.stringify(text)} is not valid JSON`);
      }
    }
  }
  return out;
}
