import { describe, it, expect } from 'vitest';
import { hungarian } from '../../src/eval/hungarian.js';
import { Rng } from '../../src/util/rng.js';

/** Minimum over all injective row -> column maps, by enumeration. */
function bruteForce(cost: Float64Array, rows: number, cols: number): number {
  let best = Infinity;
  const used = new Array<boolean>(cols).fill(false);
  const rec = (i: number, acc: number): void => {
    if (i === rows) {
      best = Math.min(best, acc);
      return;
    }
    for (let j = 0; j < cols; j++) {
      if (used[j]) continue;
      used[j] = true;
      rec(i + 1, acc + cost[i * cols + j]!);
      used[j] = false;
    }
  };
  rec(0, 0);
  return best;
}

describe('hungarian', () => {
  it('solves a hand-checked 3x3 case', () => {
    // Optimal: row0->col1 (1), row1->col0 (2), row2->col2 (2) = 5.
    const cost = Float64Array.from([4, 1, 3, 2, 0, 5, 3, 2, 2]);
    const a = hungarian(cost, 3, 3);
    expect(a.cost).toBe(5);
    expect(Array.from(a.rowToCol)).toEqual([1, 0, 2]);
  });

  it('matches brute force on random square and rectangular matrices', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 60; trial++) {
      const rows = 1 + rng.int(5);
      const cols = rows + rng.int(3);
      const cost = Float64Array.from({ length: rows * cols }, () => Math.round(rng.normal() * 10) / 2);
      const a = hungarian(cost, rows, cols);
      expect(a.cost).toBeCloseTo(bruteForce(cost, rows, cols), 9);
      // A valid one-to-one assignment whose cost is the reported one.
      expect(new Set(a.rowToCol).size).toBe(rows);
      let c = 0;
      a.rowToCol.forEach((j, i) => (c += cost[i * cols + j]!));
      expect(c).toBeCloseTo(a.cost, 9);
    }
  });

  it('recovers a hidden permutation from a noisy negative-similarity matrix', () => {
    const n = 40;
    const rng = new Rng(3);
    const perm = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
    const cost = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) cost[i * n + j] = (perm[i] === j ? -1 : 0) + 0.1 * rng.next();
    expect(Array.from(hungarian(cost, n, n).rowToCol)).toEqual(Array.from(perm));
  });

  it('rejects more rows than columns', () => {
    expect(() => hungarian(new Float64Array(6), 3, 2)).toThrow(/rows/);
  });
});
