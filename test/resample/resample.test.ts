import * as tf from '../../src/backend/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { SaeParams } from '../../src/sae/params.js';
import { AdamState } from '../../src/step/adam.js';
import { resampleDead, resampleDeadFrom, unitDirections } from '../../src/resample/resample.js';
import { Rng } from '../../src/util/rng.js';
import { randomData, randomWeights } from '../helpers/tensors.js';
import { batch, checkHandCase, d, filledAdam, handWeights, m } from './cases.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('resampleDead (cpu)', () => {
  it('writes decoder rows, encoder columns, b_enc and Adam moments exactly as the paper says', async () => {
    await checkHandCase(false);
  });

  it('centres the drawn input by b_dec before normalising when asked', async () => {
    await checkHandCase(true);
  });

  it('uses an encoder norm of 1 when no feature is alive, and zero dead changes nothing', async () => {
    const params = new SaeParams(handWeights());
    const adam = new AdamState(d, m);
    const before = tf.memory().numTensors;
    const none = await resampleDead(params, adam, new Int32Array(0), batch([[1, 2, 3]]), new Rng(1), { encoderScale: 0.2, centre: false });
    expect(none.indices.length).toBe(0);
    expect(none.pool).toBeNull();
    expect(params.readSync().W_dec).toEqual(handWeights().W_dec);
    const pool = batch([[1, 0, 0], [0, 2, 0], [0, 0, 3], [4, 0, 0], [0, 5, 0], [1, 1, 1]]);
    const all = await resampleDead(params, adam, Int32Array.from([0, 1, 2, 3, 4]), pool, new Rng(2), { encoderScale: 0.2, centre: false });
    expect(all.aliveFeatures).toBe(0);
    expect(all.encoderNorm).toBe(1);
    const W = params.readSync();
    for (let f = 0; f < m; f++) {
      let encSq = 0;
      let decSq = 0;
      for (let j = 0; j < d; j++) {
        encSq += W.W_enc[j * m + f]! ** 2;
        decSq += W.W_dec[f * d + j]! ** 2;
      }
      expect(Math.sqrt(decSq)).toBeCloseTo(1, 6);
      expect(Math.sqrt(encSq)).toBeCloseTo(0.2, 6);
    }
    expect(new Set(all.draws.map((r) => r.rowId)).size).toBe(5);
    expect(tf.memory().numTensors).toBe(before);
    params.dispose();
    adam.dispose();
  });

  it('draws with replacement only when there are fewer candidates than dead features', async () => {
    const params = new SaeParams(handWeights());
    const adam = filledAdam(3);
    const pool = batch([[0, 0, 0], [3, 4, 0], [0, 0, 0]]);
    const res = await resampleDead(params, adam, Int32Array.from([0, 2, 4]), pool, new Rng(4), { encoderScale: 0.2, centre: false });
    expect(res.mode).toBe('loss-squared-with-replacement');
    expect(res.draws.map((r) => r.rowId)).toEqual([101, 101, 101]);
    const W = params.readSync();
    for (const f of [0, 2, 4]) expect(Array.from(W.W_dec.slice(f * d, f * d + d))).toEqual([0.6000000238418579, 0.800000011920929, 0]);
    params.dispose();
    adam.dispose();
  });

  it('gives the same result whether the pool comes as one batch or streamed in pieces', async () => {
    const dd = 8;
    const mm = 24;
    const w = randomWeights(dd, mm, 9);
    const x = randomData(300, dd, 10);
    const dead = Int32Array.from([2, 5, 6, 11, 20]);
    const one = { x, rows: 300, d: dd, rowIds: Float64Array.from({ length: 300 }, (_, i) => i), meta: {} };
    const pieces = [0, 70, 71, 200, 300].slice(1).map((end, k, arr) => {
      const start = k === 0 ? 0 : arr[k - 1]!;
      return { x: x.slice(start * dd, end * dd), rows: end - start, d: dd, rowIds: one.rowIds.slice(start, end), meta: {} };
    });
    const run = async (streamed: boolean) => {
      const params = new SaeParams(w);
      const adam = new AdamState(dd, mm);
      const opts = { encoderScale: 0.2, centre: false, chunkRows: 32 };
      const before = tf.memory().numTensors;
      const res = streamed
        ? await resampleDeadFrom(params, adam, dead, pieces, new Rng(5), opts)
        : await resampleDead(params, adam, dead, one, new Rng(5), opts);
      expect(tf.memory().numTensors).toBe(before);
      const W = params.readSync();
      params.dispose();
      adam.dispose();
      return { res, W };
    };
    const a = await run(false);
    const b = await run(true);
    expect(b.res.draws).toEqual(a.res.draws);
    expect(b.W.W_dec).toEqual(a.W.W_dec);
    expect(b.W.W_enc).toEqual(a.W.W_enc);
    expect(a.res.pool!.rows).toBe(300);
    // The drawn inputs are among the highest-loss ones far more often than chance.
    expect(a.res.drawnLoss!.mean).toBeGreaterThan(a.res.pool!.loss.mean);
  });

  it('draws in proportion to loss squared (2000 events, fixed seed, chi-square)', async () => {
    // f = 0 everywhere (b_enc = -100), b_dec = 0: loss of a * e_1 is a^2, weight a^4.
    const w = handWeights();
    w.b_dec.fill(0);
    const params = new SaeParams(w);
    const adam = new AdamState(d, m);
    const amps = [1, 2, 3];
    const pool = batch([[1, 0, 0], [0, 2, 0], [0, 0, 0], [0, 0, 3]], [0, 1, 9, 2]);
    const weights = amps.map((a) => a ** 4);
    const total = weights.reduce((s, v) => s + v, 0);
    const counts = [0, 0, 0];
    const rng = new Rng(2024);
    const trials = 2000;
    for (let t = 0; t < trials; t++) {
      params.write(w);
      const res = await resampleDead(params, adam, Int32Array.from([1]), pool, rng, { encoderScale: 0.2, centre: false });
      counts[res.draws[0]!.rowId]! += 1;
    }
    const chi2 = counts.reduce((s, c, i) => s + (c - (trials * weights[i]!) / total) ** 2 / ((trials * weights[i]!) / total), 0);
    // 2 degrees of freedom: P(chi2 > 13.8) = 0.001. Uniform draws would give chi2 in the thousands.
    expect(chi2).toBeLessThan(13.8);
    expect(counts[0]).toBeGreaterThan(0);
    params.dispose();
    adam.dispose();
  });
});

describe('unitDirections', () => {
  it('normalises rows, optionally after subtracting b_dec', () => {
    const x = Float32Array.from([3, 4, 0, 1, 1, 1]);
    expect(Array.from(unitDirections(x, 3, null).slice(0, 3))).toEqual([0.6000000238418579, 0.800000011920929, 0]);
    const c = unitDirections(x, 3, Float32Array.from([1, 1, 0]));
    expect(Array.from(c.slice(3))).toEqual([0, 0, 1]);
  });
});

describe('resampleDead on a diverged SAE', () => {
  it('throws a DivergenceError naming the input row, and leaks nothing', async () => {
    const w = handWeights();
    w.b_dec[1] = NaN;
    const params = new SaeParams(w);
    const adam = new AdamState(d, m);
    const before = tf.memory().numTensors;
    await expect(resampleDead(params, adam, Int32Array.from([1]), batch([[1, 2, 3]]), new Rng(1), { encoderScale: 0.2, centre: false })).rejects.toThrow(
      /reconstruction error is NaN on input row 100/,
    );
    expect(tf.memory().numTensors).toBe(before);
    params.dispose();
    adam.dispose();
  });
});
