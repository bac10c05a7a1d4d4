import { describe, expect, it } from 'vitest';
import { activeEntries, sparseDecodeRows } from '../../../src/step/workers/sparse-decode-rows.js';

// The workers' sparse decode of resampling's scores on a hand-computable case (its agreement with
// the tfjs scoring on random SAEs is in pool-score.test.ts).
describe('sparseDecodeRows', () => {
  it('gives [loss | ||x||^2 | ||x - b_dec||^2 | column sums of x - b_dec] from the active features only', () => {
    const d = 2;
    const m = 3;
    const W_dec = Float32Array.from([1, 0, 0, 1, 1, 1]);
    const b_dec = Float32Array.from([1, 1]);
    // Row 0: features 0 and 2 active, x_hat = 2 (1, 0) + 1 (1, 1) + b_dec = (4, 2); row 1: none, x_hat = b_dec.
    const f = Float32Array.from([2, 0, 1, 0, 0, 0]);
    const x = Float32Array.from([3, 5, 0, 1]);
    const out = sparseDecodeRows(x, f, 2, d, m, W_dec, b_dec);
    expect(Array.from(out)).toEqual([
      (3 - 4) ** 2 + (5 - 2) ** 2,
      1,
      9 + 25,
      0 + 1,
      4 + 16,
      1 + 0,
      2 + -1,
      4 + 0,
    ]);
    expect(activeEntries(f, 6)).toBe(2);
    expect(activeEntries(f, 1)).toBe(1);
  });
});
