import { describe, expect, it } from 'vitest';

import { compileLine, PerNotebook, runSteps } from '../src/notebookState';

interface Entry {
  run: string | null;
  compiledAt: number | null;
}
const empty = (): Entry => ({ run: null, compiledAt: null });

describe('state per notebook', () => {
  it('shows a notebook never seen as empty, whatever another notebook holds', () => {
    const store = new PerNotebook<Entry>(empty);
    store.update('breast_cancer_diagnosis.ipynb', e => ({ ...e, run: '20261206-234512-de8128' }));
    expect(store.get('Untitled.ipynb')).toEqual(empty());
    expect(store.has('Untitled.ipynb')).toBe(false);
    expect(store.get('breast_cancer_diagnosis.ipynb').run).toBe('20261206-234512-de8128');
  });

  it('writes an answer under the notebook it was asked for, not the one shown now', () => {
    const store = new PerNotebook<Entry>(empty);
    let shown = 'a.ipynb';
    const asked = shown; // a compile started for a.ipynb...
    shown = 'b.ipynb'; // ...the user moves to b.ipynb before it answers
    store.update(asked, e => ({ ...e, compiledAt: 1 }));
    expect(store.get(shown).compiledAt).toBeNull();
    expect(store.get('a.ipynb').compiledAt).toBe(1);
  });

  it('keeps a renamed notebook its entry, and nothing under the old name', () => {
    const store = new PerNotebook<Entry>(empty);
    store.update('Untitled.ipynb', e => ({ ...e, run: 'r1' }));
    store.rename('Untitled.ipynb', 'churn.ipynb');
    expect(store.get('churn.ipynb').run).toBe('r1');
    expect(store.has('Untitled.ipynb')).toBe(false);
  });

  it('a fresh empty entry is not shared between notebooks', () => {
    const store = new PerNotebook<{ runs: string[] }>(() => ({ runs: [] }));
    store.get('a.ipynb').runs.push('leak');
    expect(store.get('b.ipynb').runs).toEqual([]);
  });
});

describe('a run lists its own steps', () => {
  it('never adds a step the notebook gained after the run as pending', () => {
    const steps = [
      { name: 'load', status: 'done' },
      { name: 'evaluate', status: 'done' }
    ];
    const listed = runSteps(steps, ['load', 'select_model', 'evaluate']);
    expect(listed.map(s => s.name)).toEqual(['load', 'evaluate']);
    expect(listed.every(s => s.status === 'done')).toBe(true);
  });
  it("orders the run's steps as the pipeline does", () => {
    const steps = [{ name: 'b' }, { name: 'a' }, { name: 'gone' }];
    expect(runSteps(steps, ['a', 'b']).map(s => s.name)).toEqual(['a', 'b', 'gone']);
    expect(runSteps(steps, null).map(s => s.name)).toEqual(['b', 'a', 'gone']);
  });
});

describe('the Compile button says what that compile found', () => {
  it('names the step count of its own compile', () => {
    const line = compileLine({ at: Date.UTC(2026, 0, 1), ok: true, steps: 5, message: '' });
    expect(line).toMatch(/^Compiled at .+: 5 steps, no errors\.$/);
  });
  it('names the problem when it does not compile', () => {
    const line = compileLine({ at: 0, ok: false, steps: 0, message: 'cell 3: bad tag' });
    expect(line).toMatch(/does not compile: cell 3: bad tag$/);
  });
});
