/**
 * A sweep as the Experiments view shows it (GET sweeps/<run_id>): its trials, and their
 * parameters and metric as a parallel-coordinates chart (Vega-Lite). The server answers in the
 * sweep's own words; the chart is drawn here, in the theme's colours (VegaChart's config gives
 * the colour ramp).
 */
import { VEGA_LITE_SCHEMA } from './graph';

export interface SweepTrial {
  number: number | null;
  /** the trial's MLflow run */
  run_id: string;
  /** the trial's run name (the notebook and the values that differ from its own) */
  name: string | null;
  nb2pipe_run_id: string | null;
  /** nb2pipe's word: succeeded, failed, pruned… */
  status: string;
  params: Record<string, string | number | null>;
  value: number | null;
  best: boolean;
}

export interface SweepDetail {
  sweep_id: string | null;
  mode: string | null;
  metric: string | null;
  direction: 'max' | 'min' | string;
  /** the swept parameters, in the order of the axes */
  params: string[];
  best: number | null;
  trials: SweepTrial[];
}

/** What the sweep did, in one line: "grid sweep of 3 trials over C, by accuracy (max)". */
export function sweepLine(sweep: SweepDetail): string {
  const trials = sweep.trials.length === 1 ? '1 trial' : `${sweep.trials.length} trials`;
  const over = sweep.params.length ? ` over ${sweep.params.join(', ')}` : '';
  const by = sweep.metric ? `, by ${sweep.metric} (${sweep.direction})` : '';
  const best = sweep.best !== null ? ` · best: trial ${sweep.best}` : '';
  return `${sweep.mode ?? ''} sweep of ${trials}${over}${by}${best}`.trim();
}

/** One axis per swept parameter, then the metric; a line per trial, coloured by the metric. */
export function parallelCoordinates(sweep: SweepDetail): Record<string, unknown> {
  const metric = sweep.metric ?? 'value';
  const axes = [...sweep.params, metric];
  // Text values (a model's name) sit on their axis at the position of their rank.
  const ranks: Record<string, string[]> = {};
  for (const name of sweep.params) {
    const texts = sweep.trials.map(t => t.params[name]).filter(v => typeof v === 'string');
    if (texts.length > 0) {
      ranks[name] = [...new Set(texts as string[])].sort();
    }
  }
  const values = sweep.trials
    .filter(t => t.value !== null || sweep.metric === null)
    .map(t => {
      const row: Record<string, unknown> = {
        trial: t.number,
        status: t.status,
        best: t.best,
        [metric]: t.value
      };
      for (const name of sweep.params) {
        const v = t.params[name];
        row[name] = name in ranks ? ranks[name].indexOf(String(v)) : v;
        row[`${name} (value)`] = v;
      }
      return row;
    });
  return {
    $schema: VEGA_LITE_SCHEMA,
    description: `trials of sweep ${sweep.sweep_id ?? ''}`,
    data: { values },
    height: 180,
    transform: [
      { window: [{ op: 'row_number', as: 'line' }] },
      { fold: axes, as: ['axis', 'raw'] },
      {
        joinaggregate: [
          { op: 'min', field: 'raw', as: 'low' },
          { op: 'max', field: 'raw', as: 'high' }
        ],
        groupby: ['axis']
      },
      {
        calculate:
          'datum.high === datum.low ? 0.5 : (datum.raw - datum.low) / (datum.high - datum.low)',
        as: 'position'
      }
    ],
    layer: [
      {
        mark: { type: 'rule', opacity: 0.4 },
        encoding: { x: { field: 'axis', type: 'nominal', sort: axes } }
      },
      {
        mark: { type: 'line', strokeWidth: 2, opacity: 0.8 },
        encoding: {
          x: { field: 'axis', type: 'nominal', sort: axes, title: null, axis: { labelAngle: 0 } },
          y: { field: 'position', type: 'quantitative', axis: null },
          detail: { field: 'line', type: 'nominal' },
          // the theme's ramp (vegaConfig), strongest for the best values whichever the direction
          color: {
            field: metric,
            type: 'quantitative',
            scale: { reverse: sweep.direction === 'min' }
          },
          strokeWidth: { condition: { test: 'datum.best', value: 4 }, value: 2 },
          tooltip: [
            { field: 'trial', type: 'nominal' },
            ...sweep.params.map(name => ({ field: `${name} (value)`, title: name })),
            { field: metric, type: 'quantitative' },
            { field: 'status', type: 'nominal' }
          ]
        }
      }
    ]
  };
}
