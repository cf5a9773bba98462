import { describe, expect, it } from 'vitest';

import { parallelCoordinates, SweepDetail, sweepLine } from '../src/sweep';
import { chartColors, vegaConfig } from '../src/theme';

const trial = (number: number, C: number, model: string, value: number | null, best = false) => ({
  number,
  run_id: `mlflow${number}`,
  name: `wine · C=${C}`,
  nb2pipe_run_id: `20261206-10000${number}-abcdef`,
  status: value === null ? 'failed' : 'succeeded',
  params: { C, model },
  value,
  best
});

const sweep: SweepDetail = {
  sweep_id: '20261206-100000-aaaaaa',
  mode: 'grid',
  metric: 'accuracy',
  direction: 'max',
  params: ['C', 'model'],
  best: 1,
  trials: [trial(0, 0.1, 'svm', 0.8), trial(1, 1, 'tree', 0.9, true), trial(2, 10, 'svm', null)]
};

describe('a sweep', () => {
  it('says what it searched in one line', () => {
    expect(sweepLine(sweep)).toBe(
      'grid sweep of 3 trials over C, model, by accuracy (max) · best: trial 1'
    );
    expect(sweepLine({ ...sweep, metric: null, best: null, trials: [sweep.trials[0]] })).toBe(
      'grid sweep of 1 trial over C, model'
    );
  });

  it('draws one axis per parameter, then the metric, a line per trial with a value', () => {
    const spec = parallelCoordinates(sweep) as any;
    const rows = spec.data.values;
    expect(rows.map((r: any) => r.trial)).toEqual([0, 1]); // the failed trial has no value
    expect(spec.transform[1].fold).toEqual(['C', 'model', 'accuracy']);
    // a text parameter sits at its rank, its value kept for the tooltip
    expect(rows.map((r: any) => [r.model, r['model (value)']])).toEqual([
      [0, 'svm'],
      [1, 'tree']
    ]);
    expect(rows[1].best).toBe(true);
  });

  it('colours by the metric with the theme ramp, strongest where the direction says best', () => {
    const max = parallelCoordinates(sweep) as any;
    const min = parallelCoordinates({ ...sweep, direction: 'min' }) as any;
    expect(max.layer[1].encoding.color.scale).toEqual({ reverse: false });
    expect(min.layer[1].encoding.color.scale).toEqual({ reverse: true });
    expect(JSON.stringify(max)).not.toMatch(/#[0-9a-f]{3,6}|scheme/i);
    const theme: Record<string, string> = {
      '--jp-border-color1': '#616161',
      '--jp-brand-color1': '#42a5f5'
    };
    const config = vegaConfig(chartColors(name => theme[name] ?? '')) as any;
    expect(config.range.ramp).toEqual(['#616161', '#42a5f5']);
  });
});
