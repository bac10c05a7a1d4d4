import { describe, expect, it } from 'vitest';
import { degenerateWarnings } from '../../src/eval/degenerate.js';
import { autoL1, AUTO_L1_PER_NORM } from '../../src/train/l1-default.js';
import { defaultSteps } from '../../src/train/plan.js';

describe('defaults that follow the data', () => {
  it('steps: the epochs\' rows, but at least minTokens tokens', () => {
    // The 8k-row fixture at batch 4096: 1 step per epoch before; the token budget makes it 500.
    expect(defaultSteps(7761, 2_048_000, 4096)).toBe(500);
    // A large dump keeps its epoch count (floor, as before).
    expect(defaultSteps(10_000_000, 2_048_000, 4096)).toBe(2441);
    expect(defaultSteps(10, 1, 4096)).toBe(1);
  });

  it('l1 auto scales with the activation norm', () => {
    expect(AUTO_L1_PER_NORM).toBe(0.15);
    expect(autoL1(6.88)).toBe(1.03);
    expect(autoL1(68.8)).toBe(10.3);
  });
});

describe('degenerateWarnings', () => {
  const ok = { d: 64, m: 512, l0: 30, explainedVariance: 0.8, deadFraction: 0.01, denseFraction: 0.02, denseThreshold: 0.1 };
  it('says nothing about a usable dictionary', () => {
    expect(degenerateWarnings(ok)).toEqual([]);
  });
  it('names each problem and what to change', () => {
    const w = degenerateWarnings({ ...ok, l0: 172, explainedVariance: -10.5, deadFraction: 0.6, denseFraction: 0.7 });
    expect(w).toHaveLength(4);
    expect(w[0]).toBe('L0 172.0 is above the input width d = 64: the code is not sparse; raise sae.l1 (or train longer)');
    expect(w[1]).toMatch(/^held-out explained variance -10\.500 is below 0/);
    expect(w[2]).toMatch(/^60\.0% of the 512 features never fired/);
    expect(w[3]).toMatch(/^70\.0% of the 512 features fire on more than 10\.0% of rows \(dense\): raise sae\.l1/);
    expect(degenerateWarnings({ ...ok, explainedVariance: NaN })).toHaveLength(1);
  });
});
