import { describe, expect, it } from 'vitest';

import { durationText, numberText, runLabel, shortId, shortTime, valueText } from '../src/format';

describe('numbers read alike everywhere', () => {
  it('keeps 4 significant digits and no trailing zeros', () => {
    expect(numberText(0.98611)).toBe('0.9861');
    expect(numberText(1)).toBe('1');
    expect(numberText(1.0)).toBe('1');
    expect(numberText(0.5)).toBe('0.5');
    expect(numberText(12345.678)).toBe('12350');
  });
  it('writes tiny and huge values in exponent form', () => {
    expect(numberText(0.0000251)).toBe('2.51e-5');
    expect(numberText(3e12)).toBe('3e12');
    expect(numberText(0)).toBe('0');
  });
  it('shows nothing for a missing value, and text as it is', () => {
    expect(numberText(null)).toBe('');
    expect(numberText(undefined)).toBe('');
    expect(numberText('rbf')).toBe('rbf');
  });
  it('formats a parameter sent as text like a number when it is one', () => {
    expect(valueText('0.30000000000000004')).toBe('0.3');
    expect(valueText('linear')).toBe('linear');
    expect(valueText('')).toBe('');
  });
});

describe('durations and times', () => {
  it('says durations in the unit a person would', () => {
    expect(durationText(0.04)).toBe('0.0 s');
    expect(durationText(4.25)).toBe('4.3 s');
    expect(durationText(42.4)).toBe('42 s');
    expect(durationText(150)).toBe('2.5 min');
    expect(durationText(5400)).toBe('1.5 h');
    expect(durationText(null)).toBe('');
  });
  it('shows the time of day for today, the date before', () => {
    const now = new Date(2026, 11, 6, 18, 0, 0);
    const today = new Date(2026, 11, 6, 9, 5, 7).getTime() / 1000;
    const earlier = new Date(2026, 10, 21, 15, 4, 0).getTime() / 1000;
    expect(shortTime(today, now)).toBe('09:05:07');
    expect(shortTime(earlier, now)).toBe('11-21 15:04');
    expect(shortTime(null, now)).toBe('');
  });
});

describe('run names and ids', () => {
  it('calls a run by its name, else its id', () => {
    expect(runLabel({ name: 'breast_cancer_diagnosis · C=0.5', run_id: 'abc' })).toBe(
      'breast_cancer_diagnosis · C=0.5'
    );
    expect(runLabel({ name: '', run_id: 'abc' })).toBe('abc');
    expect(runLabel({ name: null, run_id: 'abc' })).toBe('abc');
  });
  it('shortens an nb2pipe id to its random part and an MLflow id to 8 characters', () => {
    expect(shortId('20261206-234512-de8128')).toBe('de8128');
    expect(shortId('0123456789abcdef0123456789abcdef')).toBe('01234567');
  });
});
