import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '../../src/backend/tfjs.js';
import { initBackend } from '../../src/backend/select.js';
import { evaluateSae } from '../../src/eval/evaluate-sae.js';
import { MetricsAccumulator, log10DensityHistogram } from '../../src/eval/metrics.js';
import { SaeParams, type SaeWeights } from '../../src/sae/params.js';
import type { Batch } from '../../src/data/types.js';
import { randomData, randomWeights } from '../helpers/tensors.js';

function batchOf(x: Float32Array, rows: number, d: number): Batch {
  return { x, rows, d, rowIds: new Float64Array(rows), meta: {} };
}

/** Every metric straight from the definitions, over all rows at once, in float64. */
function naive(w: SaeWeights, x: Float32Array, n: number) {
  const { d, m } = w;
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j]! += x[r * d + j]! / n;
  let sse = 0, ssv = 0, l0 = 0, l1 = 0, shrink = 0;
  const fired = new Float64Array(m);
  for (let r = 0; r < n; r++) {
    const f = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      let s = w.b_enc[k]!;
      for (let j = 0; j < d; j++) s += (x[r * d + j]! - w.b_dec[j]!) * w.W_enc[j * m + k]!;
      f[k] = Math.max(0, s);
      if (f[k]! > 0) { l0++; fired[k]!++; }
      l1 += f[k]!;
    }
    let xn = 0, xhn = 0;
    for (let j = 0; j < d; j++) {
      let xh = w.b_dec[j]!;
      for (let k = 0; k < m; k++) xh += f[k]! * w.W_dec[k * d + j]!;
      sse += (x[r * d + j]! - xh) ** 2;
      ssv += (x[r * d + j]! - mean[j]!) ** 2;
      xn += x[r * d + j]! ** 2;
      xhn += xh * xh;
    }
    shrink += Math.sqrt(xhn) / Math.sqrt(xn);
  }
  const density = Array.from(fired, (c) => c / n);
  return {
    mse: sse / n, explainedVariance: 1 - sse / ssv, l0: l0 / n, l1: l1 / n, shrinkage: shrink / n,
    deadFraction: density.filter((v) => v === 0).length / m,
    denseFraction: density.filter((v) => v > 0.1).length / m, density,
  };
}

describe('evaluateSae', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('matches hand-computed metrics on an identity SAE', async () => {
    // W_enc = W_dec = I, biases 0: f = relu(x), x_hat = relu(x).
    const w: SaeWeights = {
      d: 2, m: 2, W_enc: Float32Array.from([1, 0, 0, 1]), b_enc: new Float32Array(2),
      W_dec: Float32Array.from([1, 0, 0, 1]), b_dec: new Float32Array(2),
    };
    const sae = new SaeParams(w);
    const before = tf.memory().numTensors;
    // Rows (1,0), (0,2), (-1,-1): errors 0, 0, 2; mean (0, 1/3); sum ||x - mean||^2 = 60/9.
    const x = Float32Array.from([1, 0, 0, 2, -1, -1]);
    const r = await evaluateSae(sae, [batchOf(x, 3, 2)], { chunkRows: 2 });
    expect(tf.memory().numTensors).toBe(before);
    sae.dispose();
    expect(r.rows).toBe(3);
    expect(r.mse).toBeCloseTo(2 / 3, 6);
    expect(r.msePerElement).toBeCloseTo(1 / 3, 6);
    expect(r.dataVariance).toBeCloseTo(60 / 27, 6);
    expect(r.explainedVariance).toBeCloseTo(0.7, 6);
    expect(r.nmse).toBeCloseTo(0.3, 6);
    expect(r.l0).toBeCloseTo(2 / 3, 6);
    expect(r.l1).toBeCloseTo(1, 6);
    expect(r.deadFraction).toBe(0);
    expect(r.denseFraction).toBe(1); // both fire on 1/3 > 0.1 of rows
    expect(r.shrinkage).toBeCloseTo(2 / 3, 6); // ratios 1, 1, 0
    expect(r.log10DensityHistogram.counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('matches a naive float64 reference over uneven batches and chunks, without leaking', async () => {
    const d = 6, m = 10;
    const w = randomWeights(d, m, 4);
    w.b_enc.fill(-0.6); // some features rarely fire, some never
    for (let j = 0; j < d; j++) w.W_enc[j * m + 9] = 0;
    const sizes = [7, 1, 12];
    const n = sizes.reduce((a, b) => a + b, 0);
    const x = randomData(n, d, 5);
    for (let i = 0; i < x.length; i++) x[i]! += 0.3; // non-zero mean
    const batches: Batch[] = [];
    let off = 0;
    for (const s of sizes) {
      batches.push(batchOf(x.slice(off * d, (off + s) * d), s, d));
      off += s;
    }
    const sae = new SaeParams(w);
    const before = tf.memory().numTensors;
    const r = await evaluateSae(sae, batches, { chunkRows: 5 });
    expect(tf.memory().numTensors).toBe(before);
    sae.dispose();
    const ref = naive(w, x, n);
    expect(r.rows).toBe(n);
    expect(r.mse).toBeCloseTo(ref.mse, 4);
    expect(r.explainedVariance).toBeCloseTo(ref.explainedVariance, 5);
    expect(r.l0).toBeCloseTo(ref.l0, 9);
    expect(r.l1).toBeCloseTo(ref.l1, 4);
    expect(r.shrinkage).toBeCloseTo(ref.shrinkage, 5);
    expect(r.deadFraction).toBe(ref.deadFraction);
    expect(r.deadFraction).toBeGreaterThan(0);
    expect(r.denseFraction).toBe(ref.denseFraction);
    expect(r.log10DensityHistogram).toEqual(log10DensityHistogram(ref.density));
  });

  it('stops at maxRows', async () => {
    const w = randomWeights(4, 8, 1);
    const sae = new SaeParams(w);
    const x = randomData(30, 4, 2);
    const r = await evaluateSae(sae, [batchOf(x, 30, 4)], { maxRows: 11, chunkRows: 4 });
    sae.dispose();
    expect(r.rows).toBe(11);
    expect(r.mse).toBeCloseTo(naive(w, x.slice(0, 44), 11).mse, 4);
  });
});

describe('MetricsAccumulator', () => {
  it('merges batch means and variances exactly (Chan update)', () => {
    const d = 3;
    const x = randomData(50, d, 9);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! * 100 + 1e4; // large offset: naive sum-of-squares would cancel badly
    const acc = new MetricsAccumulator(d, 1);
    for (const [s, e] of [[0, 1], [1, 20], [20, 50]] as const) {
      const n = e - s;
      acc.add({ rows: n, x: x.subarray(s * d, e * d), rowSquaredError: new Float64Array(n), xNorm: new Float64Array(n).fill(1), xHatNorm: new Float64Array(n), fireCounts: [0], l0Sum: 0, l1Sum: 0 });
    }
    const mean = new Float64Array(d);
    for (let r = 0; r < 50; r++) for (let j = 0; j < d; j++) mean[j]! += x[r * d + j]! / 50;
    let ssv = 0;
    for (let r = 0; r < 50; r++) for (let j = 0; j < d; j++) ssv += (x[r * d + j]! - mean[j]!) ** 2;
    expect(acc.result().dataVariance).toBeCloseTo(ssv / 50, 6);
  });

  it('bins log10 densities with never-firing features in the first bin', () => {
    const h = log10DensityHistogram([0, 1, 0.5, 1e-3, 1e-12]);
    expect(h.edges[0]).toBe(-10);
    expect(h.edges[h.edges.length - 1]).toBe(0);
    expect(h.counts[0]).toBe(2); // 0 and 1e-12
    expect(h.counts[h.counts.length - 1]).toBe(2); // 1 and 0.5 (log10 0.5 = -0.30)
    expect(h.counts[14]).toBe(1); // -3 falls in [-3, -2.5)
  });
});
