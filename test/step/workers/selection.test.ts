import { describe, expect, it } from 'vitest';
import { hostRowThresholds } from '../../../src/sae/activation.js';
import { HEAP_CANDIDATES_UP_TO, keepPerBatch, keepPerRow, planSelection, thresholdFromCandidates, topCandidates } from '../../../src/step/workers/selection.js';
import { localIndices } from '../../../src/step/workers/slice-select.js';
import { Rng } from '../../../src/util/rng.js';

// The thresholds from the slices' candidates are exactly the ones sae/activation.ts computes over
// all features at once (the reference's selection), for every split of the features.

/** pre [B, m] with ties (values on a coarse grid) and negatives. */
function preOf(B: number, m: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: B * m }, () => Math.round((rng.next() * 2 - 0.7) * 8) / 8);
}

/** Features [0, m) split into slices of these widths; each slice's candidates, then the thresholds. */
function viaSlices(pre: Float32Array, B: number, widths: number[], kind: 'topk' | 'batchtopk', k: number): Float32Array {
  const m = widths.reduce((a, b) => a + b, 0);
  const scratch = new Float32Array(B * m + 1);
  let i0 = 0;
  const parts = widths.map((mk) => {
    const block = new Float32Array(B * mk);
    for (let b = 0; b < B; b++) block.set(pre.subarray(b * m + i0, b * m + i0 + mk), b * mk);
    i0 += mk;
    const keep = kind === 'topk' ? keepPerRow(k, mk) : keepPerBatch(k, B, mk);
    const cand = new Float32Array(kind === 'topk' ? B * keep : keep);
    if (kind === 'topk') for (let b = 0; b < B; b++) topCandidates(block.subarray(b * mk), mk, keep, cand, b * keep, scratch);
    else topCandidates(block, B * mk, keep, cand, 0, scratch);
    return { cand, keep };
  });
  const out = new Float32Array(B);
  if (kind === 'batchtopk') return out.fill(thresholdFromCandidates(parts.map((p) => ({ ...p, offset: 0 })), k * B, scratch));
  for (let b = 0; b < B; b++) out[b] = thresholdFromCandidates(parts.map((p) => ({ ...p, offset: b * p.keep })), k, scratch);
  return out;
}

describe('selection across feature slices', () => {
  for (const kind of ['topk', 'batchtopk'] as const) {
    it(`${kind}: the slices' candidates give the reference's thresholds (any split, ties, k from 1 to m)`, () => {
      const [B, m] = [9, 30];
      const pre = preOf(B, m, 5);
      for (const widths of [[30], [15, 15], [10, 10, 10], [1, 2, 27], [8, 7, 8, 7]]) {
        for (const k of [1, 3, 7, 29, 30, 40]) {
          const ref = hostRowThresholds(pre, B, m, { kind, k }, new Float32Array(B));
          expect(Array.from(viaSlices(pre, B, widths, kind, k)), `${widths} k=${k}`).toEqual(Array.from(ref));
        }
      }
    });
  }

  it('topCandidates keeps the largest, padding with -Infinity when there are fewer', () => {
    const out = new Float32Array(6).fill(9);
    topCandidates(Float32Array.from([3, 1, 4, 1, 5]), 5, 3, out, 1, new Float32Array(5));
    expect(Array.from(out.subarray(1, 4)).sort()).toEqual([3, 4, 5]);
    expect(out[0]).toBe(9);
    topCandidates(Float32Array.from([2, 7]), 2, 4, out, 2, new Float32Array(2));
    expect(Array.from(out.subarray(2, 6))).toEqual([2, 7, -Infinity, -Infinity]);
  });

  it('topCandidates keeps the same multiset as sorting, through the heap (small keep) and the selection (large keep), ties included', () => {
    const rng = new Rng(8);
    for (const [n, keep] of [[50, 4], [4096, 33], [3000, HEAP_CANDIDATES_UP_TO], [5000, HEAP_CANDIDATES_UP_TO + 1], [20, 19]] as const) {
      // Values on a coarse grid: many ties at the boundary.
      const src = Float32Array.from({ length: n }, () => Math.round(rng.normal() * 4) / 4);
      const out = new Float32Array(keep + 2).fill(7);
      topCandidates(src, n, keep, out, 1, new Float32Array(n));
      const expected = Array.from(src).sort((a, b) => b - a).slice(0, keep).sort((a, b) => a - b);
      expect(Array.from(out.subarray(1, keep + 1)).sort((a, b) => a - b), `n=${n} keep=${keep}`).toEqual(expected);
      expect([out[0], out[keep + 1]]).toEqual([7, 7]);
    }
  });

  it('the buffer plan leaves room for batchtopk candidates of a full batch in every slice', () => {
    const l = planSelection(37, 10, [16, 16, 16], 5, 3);
    for (const s of l.slices) {
      expect(s.cand.length).toBeGreaterThanOrEqual(keepPerBatch(5, 37, 16));
      expect(s.auxPartial.length).toBe(370);
    }
    expect(planSelection(37, 10, [16, 16], 5, 0).auxError.length).toBe(0);
  });

  it('localIndices: a sorted index list restricted to a range, made local', () => {
    const dead = Int32Array.from([0, 3, 16, 17, 31, 32, 47]);
    expect(Array.from(localIndices(dead, 16, 32))).toEqual([0, 1, 15]);
    expect(Array.from(localIndices(dead, 33, 47))).toEqual([]);
  });
});
