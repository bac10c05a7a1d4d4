import { describe, expect, it } from 'vitest';
import { centre, hostColumnSums, residual } from '../../../src/step/sparse-gradients.js';
import { addParts, centreRows, residualRows, rowRange } from '../../../src/step/workers/row-reduce.js';
import { maxAbsDiff, randomData } from '../../helpers/tensors.js';

describe('row-range reductions (the workers share of centring and the residual)', () => {
  it('row ranges cover the batch in order, sizes differing by at most one', () => {
    for (const [rows, k] of [[37, 3], [5, 8], [4096, 16]] as const) {
      const ranges = Array.from({ length: k }, (_, w) => rowRange(rows, k, w));
      expect(ranges[0]![0]).toBe(0);
      expect(ranges.at(-1)![1]).toBe(rows);
      ranges.forEach(([r0, r1], w) => {
        if (w > 0) expect(r0).toBe(ranges[w - 1]![1]);
        expect(r1 - r0).toBeGreaterThanOrEqual(Math.floor(rows / k));
        expect(r1 - r0).toBeLessThanOrEqual(Math.ceil(rows / k));
      });
    }
  });

  it('split over workers, match the one-thread centre, residual and column sums', () => {
    const [B, d, k] = [37, 6, 3];
    const x = randomData(B, d, 1);
    const b_dec = randomData(1, d, 2);
    const partials = [0, 1, 2].map((p) => randomData(B, d, 10 + p));

    const xcRef = new Float32Array(B * d);
    const tvRef = centre(B, d, x, b_dec, xcRef);
    const GRef = new Float32Array(B * d);
    const sseRef = residual(B, d, partials, b_dec, x, GRef);
    const gbRef = new Float32Array(d);
    hostColumnSums(B, d, GRef, gbRef);

    const xc = new Float32Array(B * d);
    const G = new Float32Array(B * d);
    const xSums = Array.from({ length: k }, () => new Float64Array(d));
    const gSums = Array.from({ length: k }, () => new Float64Array(d));
    for (let w = 0; w < k; w++) centreRows(...rowRange(B, k, w), d, x, b_dec, xc, xSums[w]!);
    const mean = new Float64Array(d);
    addParts(xSums, d, mean);
    for (let j = 0; j < d; j++) mean[j]! /= B;
    let sse = 0;
    let tv = 0;
    for (let w = 0; w < k; w++) {
      const r = residualRows(...rowRange(B, k, w), B, d, partials, b_dec, x, mean, G, gSums[w]!);
      sse += r.sse;
      tv += r.totalVariance;
    }
    const gb = new Float32Array(d);
    addParts(gSums, d, gb);

    expect(Array.from(xc)).toEqual(Array.from(xcRef));
    // Each row's G sums the partials in the same (worker) order: identical.
    expect(Array.from(G)).toEqual(Array.from(GRef));
    expect(sse).toBeCloseTo(sseRef, 9);
    expect(tv).toBeCloseTo(tvRef, 9);
    expect(maxAbsDiff(gb, gbRef)).toBeLessThan(1e-5);
  });
});
