/**
 * The Vega-Lite specs the views draw from runs: a metric over time, and compared runs' metrics.
 * Colours are not set here: VegaChart gives every chart the theme's (theme.ts).
 */
import { ComparedRun } from './compare';
import { numberText, runLabel, shortId } from './format';
import { VEGA_LITE_SCHEMA } from './graph';
import { RunRow } from './request';

/** One metric of the runs on the page, by when each run started (not by the table's order). */
export function metricSpec(rows: RunRow[], metric: string): Record<string, unknown> {
  const values = rows
    .filter(r => typeof r.metrics[metric] === 'number' && typeof r.start === 'number')
    .map(r => ({
      run: r.name,
      start: (r.start as number) * 1000,
      value: r.metrics[metric],
      shown: numberText(r.metrics[metric])
    }))
    .sort((a, b) => a.start - b.start);
  return {
    $schema: VEGA_LITE_SCHEMA,
    height: 180,
    data: { values },
    mark: { type: 'line', point: { size: 60, filled: true }, tooltip: true },
    encoding: {
      x: { field: 'start', type: 'temporal', title: 'run start', ...timeAxis(values) },
      y: {
        field: 'value',
        type: 'quantitative',
        title: metric,
        scale: { zero: false, nice: true },
        axis: { format: '~g', tickCount: 5 }
      },
      tooltip: [
        { field: 'run', title: 'run' },
        { field: 'start', type: 'temporal', title: 'start', format: '%Y-%m-%d %H:%M:%S' },
        { field: 'shown', title: metric }
      ]
    }
  };
}

const MINUTE = 60_000;

/**
 * The time axis. Runs started within a minute of each other (one run, or a sweep's trials)
 * would get ticks a few milliseconds apart, labelled `.588`: they get a quarter of an hour
 * around them instead, in hours and minutes.
 */
function timeAxis(values: { start: number }[]): Record<string, unknown> {
  const first = values[0]?.start;
  const last = values[values.length - 1]?.start;
  if (first === undefined || last === undefined || last - first >= MINUTE) {
    return { axis: { labelAngle: 0 } };
  }
  return {
    axis: { labelAngle: 0, format: '%H:%M', tickCount: 3 },
    scale: { domain: [first - 7.5 * MINUTE, last + 7.5 * MINUTE] }
  };
}

/** A bar per run for each metric, each metric on its own scale; runs named in the legend. */
export function compareSpec(runs: ComparedRun[]): Record<string, unknown> {
  // name and short id: two runs with the same values have the same name
  const label = (run: ComparedRun) => `${runLabel(run)} · ${shortId(run.run_id)}`;
  const order = runs.map(label);
  const values = runs.flatMap(run =>
    Object.entries(run.metrics)
      .filter(([, v]) => typeof v === 'number')
      .map(([metric, value]) => ({ metric, value, shown: numberText(value), run: label(run) }))
  );
  return {
    $schema: VEGA_LITE_SCHEMA,
    data: { values },
    facet: { field: 'metric', type: 'nominal', title: null, header: { labelFontSize: 12 } },
    columns: 3,
    spec: {
      width: 180,
      height: 24 * runs.length,
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'run', type: 'nominal', axis: null, sort: order },
        x: { field: 'value', type: 'quantitative', title: null, axis: { tickCount: 3 } },
        color: {
          field: 'run',
          type: 'nominal',
          sort: order,
          legend: { orient: 'bottom', title: null, labelLimit: 400 }
        },
        tooltip: [{ field: 'run' }, { field: 'metric' }, { field: 'shown', title: 'value' }]
      }
    },
    resolve: { scale: { x: 'independent' } }
  };
}
