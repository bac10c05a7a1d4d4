import { describe, expect, it } from 'vitest';
import { changeEntropy, spread, topShare } from '../../src/interventions/concentration.js';

describe('concentration of a change over the vocabulary', () => {
  it('top-k share: all of it on k tokens is 1, an even spread is k / vocab, signs do not matter', () => {
    expect(topShare([0, -3, 0, 1, 0, 0], 2)).toBe(1);
    expect(topShare(new Array(100).fill(0.5), 5)).toBeCloseTo(0.05, 12);
    expect(topShare([4, -4, 1, 1], 1)).toBe(0.4);
    expect(topShare([0, 0, 0], 5)).toBe(0);
  });

  it('entropy: 0 on one token, log(n) spread evenly over n', () => {
    expect(changeEntropy([0, 0, -2, 0])).toBe(0);
    expect(changeEntropy([1, -1, 1, -1])).toBeCloseTo(Math.log(4), 12);
    expect(changeEntropy([3, 1])).toBeCloseTo(-(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25)), 12);
  });

  it('spread: mean and interpolated quartiles', () => {
    expect(spread([4, 1, 3, 2, 5])).toEqual({ n: 5, mean: 3, p25: 2, median: 3, p75: 4 });
    expect(spread([1, 2]).median).toBe(1.5);
    expect(Number.isNaN(spread([]).median)).toBe(true);
  });
});
