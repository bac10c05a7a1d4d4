import { describe, expect, it } from 'vitest';
import { centre, hostColumnSums, residual } from '../../../src/step/sparse-gradients.js';
import { addParts, centreRows, loadRows, residualRows, rowRange, scoreRowsOfPartials } from '../../../src/step/workers/row-reduce.js';
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

  it('loads a range of rows from the pool by index, or scales x in place, as float32 products with the float32 scale', () => {
    for (const d of [3, 100]) {
      const [B, poolRows, r0, r1] = [9, 23, 2, 7];
      const pool = randomData(poolRows, d, 5);
      const index = Int32Array.from({ length: B }, (_, r) => (r * 7 + 4) % poolRows);
      for (const scale of [1, 0.7]) {
        const s = Math.fround(scale);
        const x = new Float32Array(B * d).fill(-9);
        loadRows(r0, r1, d, x, scale, pool, index);
        const y = randomData(B, d, 6);
        const yBefore = y.slice();
        loadRows(r0, r1, d, y, scale, null, index);
        for (let r = 0; r < B; r++) {
          for (let j = 0; j < d; j++) {
            const inRange = r >= r0 && r < r1;
            expect(x[r * d + j]).toBe(inRange ? Math.fround(pool[index[r]! * d + j]! * s) : -9);
            expect(y[r * d + j]).toBe(inRange ? Math.fround(yBefore[r * d + j]! * s) : yBefore[r * d + j]);
          }
        }
      }
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

describe('scoreRowsOfPartials (resampling scores from the workers\' partial reconstructions)', () => {
  it('packs each row\'s squared error, ||x||^2 and ||x - b_dec||^2 and the range\'s column sums, as a direct computation gives them', () => {
    const [B, d] = [9, 4];
    const x = randomData(B, d, 3);
    const b_dec = randomData(1, d, 4);
    const partials = [0, 1].map((p) => randomData(B, d, 20 + p));
    const xc = new Float32Array(B * d);
    centreRows(0, B, d, x, b_dec, xc, new Float64Array(d));
    const [r0, r1] = [2, 7];
    const got = scoreRowsOfPartials(r0, r1, d, partials, x, xc);
    const c = r1 - r0;
    expect(got.length).toBe(3 * c + d);
    for (let b = r0; b < r1; b++) {
      let loss = 0;
      let xSq = 0;
      let xcSq = 0;
      for (let j = 0; j < d; j++) {
        const q = b * d + j;
        const xHat = partials[0]![q]! + partials[1]![q]! + b_dec[j]!;
        loss += (x[q]! - xHat) ** 2;
        xSq += x[q]! ** 2;
        xcSq += (x[q]! - b_dec[j]!) ** 2;
      }
      expect(got[b - r0]).toBeCloseTo(loss, 5);
      expect(got[c + b - r0]).toBeCloseTo(xSq, 5);
      expect(got[2 * c + b - r0]).toBeCloseTo(xcSq, 5);
    }
    for (let j = 0; j < d; j++) {
      let sum = 0;
      for (let b = r0; b < r1; b++) sum += x[b * d + j]! - b_dec[j]!;
      expect(got[3 * c + j]).toBeCloseTo(sum, 5);
    }
  });
});
