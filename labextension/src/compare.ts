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
  /** step name → its status and duration */
  steps: Record<string, { status: string; duration?: number | null }>;
}

export interface CompareRow {
  section: 'parameters' | 'metrics' | 'steps';
  key: string;
  values: string[];
  /** the runs do not all have the same value */
  changed: boolean;
}

function rows<T>(
  section: CompareRow['section'],
  maps: Record<string, T>[],
  show: (value: T) => string,
  /** what counts when telling whether the runs differ (default: what is shown) */
  same: (value: T) => string = show
): CompareRow[] {
  const keys = [...new Set(maps.flatMap(m => Object.keys(m)))].sort((a, b) => a.localeCompare(b));
  return keys.map(key => {
    const values = maps.map(m => (key in m ? show(m[key]) : ''));
    const compared = maps.map(m => (key in m ? same(m[key]) : ''));
    return { section, key, values, changed: new Set(compared).size > 1 };
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
    // a step differs by its status: its duration always varies a little
    ...rows(
      'steps',
      runs.map(r => r.steps),
      stepText,
      step => step.status
    )
  ];
}

/** A step as Compare shows it: its status, and its duration when it ran. */
export function stepText(step: { status: string; duration?: number | null }): string {
  const took = step.status === 'cached' ? '' : durationText(step.duration);
  return took ? `${step.status} ${took}` : step.status;
}
