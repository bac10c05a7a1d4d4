import { describe, expect, it } from 'vitest';
import { l1Coefficient, learningRate, type LrSchedule } from '../../src/train/schedules.js';

const base: LrSchedule = { lr: 1, totalSteps: 100, warmupSteps: 0, decay: 'none', decayFraction: 0.2, minFactor: 0 };

describe('learningRate', () => {
  it('is constant without warm-up or decay', () => {
    expect([1, 50, 100].map((s) => learningRate(s, base))).toEqual([1, 1, 1]);
  });

  it('warms up linearly over warmupSteps', () => {
    const s = { ...base, warmupSteps: 4 };
    expect([1, 2, 4, 5].map((k) => learningRate(k, s))).toEqual([0.25, 0.5, 1, 1]);
  });

  it('decays linearly over the last decayFraction to minFactor', () => {
    const s: LrSchedule = { ...base, decay: 'linear', minFactor: 0.1 };
    // Decay over steps 81..100: p = (step - 80) / 20.
    expect(learningRate(80, s)).toBe(1);
    expect(learningRate(90, s)).toBeCloseTo(0.1 + 0.9 * 0.5, 12);
    expect(learningRate(100, s)).toBeCloseTo(0.1, 12);
  });

  it('decays on a half cosine', () => {
    const s: LrSchedule = { ...base, decay: 'cosine' };
    expect(learningRate(90, s)).toBeCloseTo(0.5, 12);
    expect(learningRate(85, s)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI / 4)), 12);
    expect(learningRate(100, s)).toBeCloseTo(0, 12);
  });

  it('warms up again after each resampling event', () => {
    const s: LrSchedule = { ...base, rewarmupAt: [10, 30], rewarmupSteps: 4 };
    expect([10, 11, 12, 14, 15, 31].map((k) => learningRate(k, s))).toEqual([1, 0.25, 0.5, 1, 1, 0.25]);
  });
});

describe('l1Coefficient', () => {
  it('warms up linearly from 0, then holds', () => {
    expect([1, 5, 10, 11].map((k) => l1Coefficient(k, 0.2, 10))).toEqual([0.02, 0.1, 0.2, 0.2]);
    expect(l1Coefficient(1, 0.2, 0)).toBe(0.2);
  });
});
