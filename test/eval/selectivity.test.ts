import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '../../src/backend/tfjs.js';
import { initBackend } from '../../src/backend/select.js';
import { describeDistribution, measureSelectivity, quantileSorted, tokenEntropyBits, topTokenShare } from '../../src/eval/selectivity.js';
import { SaeParams } from '../../src/sae/params.js';
import type { Batch } from '../../src/data/types.js';
import { DataError } from '../../src/errors.js';
import { Rng } from '../../src/util/rng.js';

describe('selectivity measures', () => {
  it('top-token share and entropy by hand', () => {
    expect(topTokenShare([3, 3, 3, 3])).toBe(1);
    expect(tokenEntropyBits([3, 3, 3, 3])).toBe(0);
    expect(topTokenShare([1, 2, 1, 3])).toBe(0.5);
    expect(tokenEntropyBits([1, 2, 1, 3])).toBeCloseTo(1.5, 12); // -(.5 log .5 + 2 * .25 log .25)
    expect(tokenEntropyBits([1, 2, 3, 4, 5, 6, 7, 8])).toBeCloseTo(3, 12);
    expect(topTokenShare([])).toBe(0);
  });

  it('quantiles interpolate like numpy and the histogram counts every value', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.1)).toBeCloseTo(1.3, 12);
    const d = describeDistribution([0, 0.05, 0.5, 1, 1], [0, 0.5, 1]);
    expect(d.histogram.counts).toEqual([2, 3]);
    expect(d.mean).toBeCloseTo(0.51, 12);
    expect(d.quantiles.p50).toBe(0.5);
  });
});

describe('measureSelectivity', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  // d = 2 basis directions; rows are token t's fixed vector times a random scale. Basis
  // direction 0 is positive for tokens 0 and 1 alike, direction 1 for tokens 0 and 2 (polysemantic); SAE feature k fires only on token k (monosemantic).
  const vecs = [[1, 1], [1, -1], [-1, 1], [-1, -1]];
  function data(rows: number, seed: number): Batch {
    const rng = new Rng(seed);
    const tokenId = Int32Array.from({ length: rows }, () => rng.int(4));
    const x = new Float32Array(rows * 2);
    tokenId.forEach((t, r) => {
      const s = 0.5 + rng.next();
      x[2 * r] = vecs[t]![0]! * s;
      x[2 * r + 1] = vecs[t]![1]! * s;
    });
    return { x, rows, d: 2, rowIds: Float64Array.from({ length: rows }, (_, i) => i), meta: { tokenId } };
  }
  // Feature k: direction of token k's vector with a bias that rejects the other tokens.
  const W_dec = Float32Array.from(vecs.flatMap((v) => { const n = Math.hypot(v[0]!, v[1]!); return [v[0]! / n, v[1]! / n]; }));
  const W_enc = new Float32Array(8);
  for (let k = 0; k < 4; k++) for (let j = 0; j < 2; j++) W_enc[j * 4 + k] = W_dec[k * 2 + j]!;
  const weights = { d: 2, m: 4, W_enc, b_enc: new Float32Array(4).fill(-0.5), W_dec, b_dec: new Float32Array(2) };

  it('finds SAE features more selective than basis directions, without leaking tensors', async () => {
    const sae = new SaeParams(weights);
    const before = tf.memory().numTensors;
    const r = await measureSelectivity(sae, [data(300, 1), data(200, 2)], { topK: 20, chunkRows: 64 });
    expect(tf.memory().numTensors).toBe(before);
    sae.dispose();
    expect(r.rows).toBe(500);
    expect(r.features.measured).toBe(4);
    expect(r.features.topTokenShare.quantiles.p10).toBe(1);
    expect(r.features.topTokenEntropyBits.mean).toBe(0);
    expect(r.basis.units).toBe(2);
    expect(r.basis.measured).toBe(2);
    expect(r.basis.topTokenShare.mean).toBeLessThan(0.9);
    expect(r.basis.topTokenEntropyBits.mean).toBeGreaterThan(0.5);
  });

  it('explains missing token ids', async () => {
    const sae = new SaeParams(weights);
    const b = data(10, 3);
    b.meta = {};
    await expect(measureSelectivity(sae, [b], { tokenColumn: 'token_id' })).rejects.toThrow(DataError);
    sae.dispose();
  });
});
