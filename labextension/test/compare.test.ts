import { describe, expect, it } from 'vitest';

import { compareRows, stepText } from '../src/compare';

const run = (id: string, C: string, accuracy: number) => ({
  run_id: id,
  name: `breast_cancer_diagnosis · C=${C}`,
  params: { C, test_size: '0.25' },
  metrics: { accuracy },
  steps: { train: { status: 'done', duration: 1.25 }, load: { status: 'cached', duration: 0 } }
});

describe('runs side by side', () => {
  it('marks what differs, parameters first', () => {
    const rows = compareRows([run('a', '0.5', 0.98611), run('b', '1.0', 1.0)]);
    expect(rows.map(r => `${r.section}:${r.key}:${r.changed}`)).toEqual([
      'parameters:C:true',
      'parameters:test_size:false',
      'metrics:accuracy:true',
      'steps:load:false',
      'steps:train:false'
    ]);
  });
  it('formats every value once, the same way', () => {
    const rows = compareRows([run('a', '0.5', 0.98611), run('b', '1.0', 1.0)]);
    const accuracy = rows.find(r => r.key === 'accuracy')!;
    expect(accuracy.values).toEqual(['0.9861', '1']);
    // "1.0" and "1" are the same value: not a difference
    const same = compareRows([run('a', '1.0', 1), run('b', '1', 1)]);
    expect(same.find(r => r.key === 'C')!.changed).toBe(false);
  });
  it('leaves a value a run does not have empty, and counts it as a difference', () => {
    const a = run('a', '0.5', 0.9);
    const b = { ...run('b', '0.5', 0.9), params: { C: '0.5' } };
    const row = compareRows([a, b]).find(r => r.key === 'test_size')!;
    expect(row.values).toEqual(['0.25', '']);
    expect(row.changed).toBe(true);
  });
  it('tells steps apart by their status, not by durations that always vary', () => {
    const slower = { ...run('b', '0.5', 0.9), steps: { train: { status: 'done', duration: 9 } } };
    const failed = { ...run('c', '0.5', 0.9), steps: { train: { status: 'failed', duration: 1 } } };
    const train = (a: any, b: any) => compareRows([a, b]).find(r => r.key === 'train')!;
    expect(train(run('a', '0.5', 0.9), slower).changed).toBe(false);
    expect(train(run('a', '0.5', 0.9), slower).values).toEqual(['done 1.3 s', 'done 9.0 s']);
    expect(train(run('a', '0.5', 0.9), failed).changed).toBe(true);
  });
  it('says a cached step was cached, not "finished in 0 s"', () => {
    expect(stepText({ status: 'cached', duration: 0 })).toBe('cached');
    expect(stepText({ status: 'done', duration: 1.25 })).toBe('done 1.3 s');
  });
});
