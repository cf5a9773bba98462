/**
 * Runs side by side: one row per parameter, metric and step of any of the runs, each value
 * formatted once (format.ts), and whether the runs differ on it.
 */
import { durationText, valueText } from './format';

export interface ComparedRun {
  run_id: string;
  name: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
  /** step name → "done 1.2 s", "cached", … */
  steps: Record<string, string>;
}

export interface CompareRow {
  section: 'parameters' | 'metrics' | 'steps';
  key: string;
  values: string[];
  /** the runs do not all have the same value */
  changed: boolean;
}

function rows(
  section: CompareRow['section'],
  maps: Record<string, unknown>[],
  show: (value: unknown) => string
): CompareRow[] {
  const keys = [...new Set(maps.flatMap(m => Object.keys(m)))].sort((a, b) => a.localeCompare(b));
  return keys.map(key => {
    const values = maps.map(m => (key in m ? show(m[key]) : ''));
    return { section, key, values, changed: new Set(values).size > 1 };
  });
}

/** Parameters first (what the user changed), then metrics (what it did), then steps. */
export function compareRows(runs: ComparedRun[]): CompareRow[] {
  return [
    ...rows(
      'parameters',
      runs.map(r => r.params),
      valueText
    ),
    ...rows(
      'metrics',
      runs.map(r => r.metrics),
      valueText
    ),
    ...rows(
      'steps',
      runs.map(r => r.steps),
      v => String(v)
    )
  ];
}

/** A step as Compare shows it: its status, and its duration when it ran. */
export function stepText(step: { status: string; duration?: number | null }): string {
  const took = step.status === 'cached' ? '' : durationText(step.duration);
  return took ? `${step.status} ${took}` : step.status;
}
