import { describe, expect, it } from 'vitest';
import { firstNonFiniteRow } from '../../src/data/column.js';

describe('firstNonFiniteRow', () => {
  const d = 7;
  const rows = 13; // 91 values: the 4-wide fast pass ends with a remainder of 3
  const finite = () => Float32Array.from({ length: rows * d }, (_, k) => (k % 5 === 0 ? -0 : Math.sin(k) * 1e30));

  it('finds the first row with NaN, +Inf or -Inf wherever it is, the last values included', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const k of [0, 3, 4, 50, rows * d - 3, rows * d - 1]) {
        const x = finite();
        x[k] = bad;
        expect(firstNonFiniteRow(x, d), `${bad} at ${k}`).toBe(Math.floor(k / d));
      }
    }
  });

  it('is -1 on finite data (large values, -0) and starts at `from`', () => {
    expect(firstNonFiniteRow(finite(), d)).toBe(-1);
    const x = finite();
    x[2 * d + 1] = NaN;
    x[9 * d] = Infinity;
    expect(firstNonFiniteRow(x, d)).toBe(2);
    expect(firstNonFiniteRow(x, d, 3)).toBe(9);
    expect(firstNonFiniteRow(x, d, 10)).toBe(-1);
  });
});
