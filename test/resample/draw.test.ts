import { describe, expect, it } from 'vitest';
import { WeightedReservoir, withReplacement } from '../../src/resample/draw.js';
import { Rng } from '../../src/util/rng.js';

const row = (i: number) => Float32Array.from([i, i + 0.5]);

/** Offer inputs with these losses (null: no direction) to a fresh reservoir of size k. */
function draw(losses: (number | null)[], k: number, rng: Rng) {
  const r = new WeightedReservoir(k, 2, rng);
  losses.forEach((loss, i) => r.offer(row(i), loss ?? 1, loss !== null, { rowId: 1000 + i }));
  return r.result();
}

describe('WeightedReservoir', () => {
  it('draws one input with probability loss^2 / sum loss^2 (chi-square, fixed seed)', () => {
    const losses = [1, 2, 3, 0, null, 1.5];
    const w = losses.map((l) => (l === null ? 0 : l * l));
    const total = w.reduce((s, v) => s + v, 0);
    const counts = losses.map(() => 0);
    const rng = new Rng(7);
    const N = 10000;
    for (let t = 0; t < N; t++) counts[draw(losses, 1, rng).rows[0]!.poolIndex]! += 1;
    expect(counts[3]).toBe(0); // zero loss
    expect(counts[4]).toBe(0); // no direction
    let chi2 = 0;
    for (const i of [0, 1, 2, 5]) chi2 += (counts[i]! - (N * w[i]!) / total) ** 2 / ((N * w[i]!) / total);
    // 3 degrees of freedom: P(chi2 > 16.3) = 0.001. Weights proportional to loss give chi2 > 1000.
    expect(chi2).toBeLessThan(16.3);
  });

  it('draws k without replacement with the inclusion probabilities of successive weighted draws', () => {
    const losses = [1, 2, 3, 4];
    const w = losses.map((l) => l * l);
    const W = w.reduce((s, v) => s + v, 0);
    // P(i in a sample of 2) = w_i/W + sum_{j != i} (w_j/W) (w_i / (W - w_j)), computed naively.
    const incl = w.map((wi, i) => wi / W + w.reduce((s, wj, j) => (j === i ? s : s + (wj / W) * (wi / (W - wj))), 0));
    const counts = [0, 0, 0, 0];
    const firsts = [0, 0, 0, 0];
    const rng = new Rng(8);
    const N = 10000;
    for (let t = 0; t < N; t++) {
      const res = draw(losses, 2, rng);
      expect(res.mode).toBe('loss-squared');
      const idx = res.rows.map((r) => r.poolIndex);
      expect(new Set(idx).size).toBe(2);
      idx.forEach((i) => (counts[i]! += 1));
      firsts[idx[0]!]! += 1;
    }
    incl.forEach((p, i) => expect(Math.abs(counts[i]! - N * p)).toBeLessThan(4.5 * Math.sqrt(N * p * (1 - p))));
    // The first of the k draws follows w / W.
    let chi2 = 0;
    w.forEach((wi, i) => (chi2 += (firsts[i]! - (N * wi) / W) ** 2 / ((N * wi) / W)));
    expect(chi2).toBeLessThan(16.3);
  });

  it('falls back to draws with replacement, then to uniform, then to nothing', () => {
    const rng = new Rng(9);
    const few = draw([0, 2, null, 0, 1], 6, rng);
    expect(few.mode).toBe('loss-squared-with-replacement');
    expect(few.rows).toHaveLength(6);
    expect(few.rows.every((r) => r.poolIndex === 1 || r.poolIndex === 4)).toBe(true);

    const flat = draw([0, 0, 0, null], 2, rng);
    expect(flat.mode).toBe('uniform');
    expect(new Set(flat.rows.map((r) => r.poolIndex)).size).toBe(2);
    expect(flat.rows.every((r) => r.poolIndex !== 3)).toBe(true);

    const flatFew = draw([0, null], 3, rng);
    expect(flatFew.mode).toBe('uniform-with-replacement');
    expect(flatFew.rows.map((r) => r.poolIndex)).toEqual([0, 0, 0]);

    const none = draw([null, null], 2, rng);
    expect(none.mode).toBe('none');
    expect(none.rows).toHaveLength(0);
    expect(none.excluded).toBe(2);
  });

  it('returns the drawn inputs, losses and row ids aligned', () => {
    const res = draw([5, 0.1, 4], 2, new Rng(3));
    res.rows.forEach((r, j) => {
      expect(r.rowId).toBe(1000 + r.poolIndex);
      expect(Array.from(res.x.slice(2 * j, 2 * j + 2))).toEqual(Array.from(row(r.poolIndex)));
      expect(r.loss).toBe([5, 0.1, 4][r.poolIndex]);
    });
    expect(res.offered).toBe(3);
  });

  it('is reproducible from the rng state', () => {
    const a = draw([1, 2, 3, 4, 5, 6], 3, new Rng(42)).rows.map((r) => r.poolIndex);
    const b = draw([1, 2, 3, 4, 5, 6], 3, new Rng(42)).rows.map((r) => r.poolIndex);
    expect(a).toEqual(b);
  });
});

describe('withReplacement', () => {
  it('follows the weights (chi-square) and never picks a zero weight', () => {
    const rng = new Rng(1);
    const picks = withReplacement(['a', 'b', 'c', 'z'], [1, 3, 6, 0], 10000, rng);
    const n = { a: 0, b: 0, c: 0, z: 0 } as Record<string, number>;
    for (const p of picks) n[p]! += 1;
    expect(n.z).toBe(0);
    const chi2 = (['a', 'b', 'c'] as const).reduce((s, k, i) => s + (n[k]! - 1000 * [1, 3, 6][i]!) ** 2 / (1000 * [1, 3, 6][i]!), 0);
    expect(chi2).toBeLessThan(13.8);
  });
});
