import { describe, expect, it } from 'vitest';

import { compareSpec, metricSpec } from '../src/charts';
import { RunRow } from '../src/request';

const row = (name: string, start: number, accuracy: number): RunRow => ({
  run_id: `${name}-id`,
  name,
  kind: 'pipeline',
  status: 'succeeded',
  start,
  artifacts: {},
  params: {},
  metrics: { accuracy }
});

describe('a metric over time', () => {
  it('places runs by when they started, whatever order the table is sorted in', () => {
    // the table sorted by accuracy, best first: the later run comes first
    const rows = [row('later', 2000, 0.99), row('earlier', 1000, 0.9)];
    const spec = metricSpec(rows, 'accuracy') as any;
    expect(spec.encoding.x.type).toBe('temporal');
    expect(spec.encoding.x.sort).toBeUndefined();
    expect(spec.data.values.map((v: any) => v.run)).toEqual(['earlier', 'later']);
    expect(spec.data.values.map((v: any) => v.start)).toEqual([1_000_000, 2_000_000]);
  });
  it('labels the time of one run in hours and minutes, not milliseconds', () => {
    const spec = metricSpec([row('a', 1_700_000_000, 0.9)], 'accuracy') as any;
    expect(spec.encoding.x.axis.format).toBe('%H:%M');
    expect(spec.encoding.x.scale.domain).toEqual([
      1_700_000_000_000 - 450_000,
      1_700_000_000_000 + 450_000
    ]);
  });
  it('leaves the time axis to Vega-Lite when runs are minutes apart', () => {
    const spec = metricSpec([row('a', 1000, 0.9), row('b', 4600, 0.95)], 'accuracy') as any;
    expect(spec.encoding.x.axis.format).toBeUndefined();
    expect(spec.encoding.x.scale).toBeUndefined();
  });
  it('shows the value in the one number format', () => {
    const spec = metricSpec([row('a', 1, 0.98611)], 'accuracy') as any;
    expect(spec.data.values[0].shown).toBe('0.9861');
  });
});

describe('compared runs in a chart', () => {
  it('names each run by its name and short id, so two runs named alike stay apart', () => {
    const runs = ['a0000000aaaa', 'b0000000bbbb'].map(id => ({
      run_id: id,
      name: 'breast_cancer_diagnosis',
      params: {},
      metrics: { accuracy: 0.9 },
      steps: {}
    }));
    const spec = compareSpec(runs) as any;
    const names = [...new Set(spec.data.values.map((v: any) => v.run))];
    expect(names).toEqual([
      'breast_cancer_diagnosis · a0000000',
      'breast_cancer_diagnosis · b0000000'
    ]);
  });
});
