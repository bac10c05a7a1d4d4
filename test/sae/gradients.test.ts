import * as tf from '../../src/backend/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { lossAndGradients, lossValue, type SparsityPenalty } from '../../src/sae/gradients.js';
import { SaeParams, PARAM_NAMES } from '../../src/sae/params.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../helpers/tensors.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('explicit gradients', () => {
  for (const penalty of ['l1', 'l1-decoder-norm'] as SparsityPenalty[]) {
    it(`match tfjs autodiff (${penalty})`, () => {
      const d = 12;
      const m = 40;
      const B = 33;
      const w = randomWeights(d, m, 3);
      // Decoder rows of varied norms so the decoder-norm penalty is exercised.
      for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) w.W_dec[i * d + j]! *= 0.5 + (i % 5) * 0.3;
      const params = new SaeParams(w);
      const x = tf.tensor2d(randomData(B, d, 4), [B, d]);
      const before = tf.memory().numTensors;
      const { grads, stats } = lossAndGradients(params, x, 0.05, penalty);
      const autodiff = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, e: tf.Tensor) =>
        lossValue({ W_enc: a as tf.Tensor2D, b_enc: b as tf.Tensor1D, W_dec: c as tf.Tensor2D, b_dec: e as tf.Tensor1D }, x, 0.05, penalty),
      )([params.W_enc, params.b_enc, params.W_dec, params.b_dec]);
      PARAM_NAMES.forEach((n, k) => {
        const ours = grads[n].dataSync();
        const ref = autodiff[k]!.dataSync();
        expect(grads[n].shape).toEqual(autodiff[k]!.shape);
        // Relative to the gradient's scale; float32 sums in different orders.
        expect(maxAbsDiff(ours, ref)).toBeLessThan(1e-4 * Math.max(1, maxAbs(ref)));
        expect(maxAbs(ref)).toBeGreaterThan(0);
      });
      const lossRef = lossValue(params, x, 0.05, penalty);
      expect(stats.loss.dataSync()[0]).toBeCloseTo(lossRef.dataSync()[0]!, 4);
      lossRef.dispose();
      autodiff.forEach((t) => t.dispose());
      PARAM_NAMES.forEach((n) => grads[n].dispose());
      Object.values(stats).forEach((t) => t.dispose());
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
      params.dispose();
    });
  }

  it('reports L0, fired counts and the MSE of the batch', () => {
    const d = 4;
    const m = 6;
    const w = randomWeights(d, m, 5);
    const params = new SaeParams(w);
    const xs = randomData(10, d, 6);
    const x = tf.tensor2d(xs, [10, d]);
    const { grads, stats } = lossAndGradients(params, x, 0, 'l1');
    // Naive reference with plain loops.
    let fired = new Array(m).fill(0);
    let sse = 0;
    for (let b = 0; b < 10; b++) {
      const f = new Array(m).fill(0);
      for (let i = 0; i < m; i++) {
        let p = w.b_enc[i]!;
        for (let j = 0; j < d; j++) p += (xs[b * d + j]! - w.b_dec[j]!) * w.W_enc[j * m + i]!;
        f[i] = Math.max(0, p);
        if (p > 0) fired[i]++;
      }
      for (let j = 0; j < d; j++) {
        let xh = w.b_dec[j]!;
        for (let i = 0; i < m; i++) xh += f[i] * w.W_dec[i * d + j]!;
        sse += (xh - xs[b * d + j]!) ** 2;
      }
    }
    expect(Array.from(stats.firedCounts.dataSync())).toEqual(fired);
    expect(stats.l0.dataSync()[0]).toBeCloseTo(fired.reduce((a, b) => a + b, 0) / 10, 5);
    expect(stats.mse.dataSync()[0]).toBeCloseTo(sse / 10, 4);
    PARAM_NAMES.forEach((n) => grads[n].dispose());
    Object.values(stats).forEach((t) => t.dispose());
    x.dispose();
    params.dispose();
  });
});

describe('parameter and optimizer state', () => {
  it('SaeParams and AdamState own exactly their variables (no tensor left after dispose)', async () => {
    const { AdamState } = await import('../../src/step/adam.js');
    const before = tf.memory().numTensors;
    const p = new SaeParams(randomWeights(5, 7, 1));
    const a = new AdamState(5, 7);
    expect(tf.memory().numTensors).toBe(before + 4 + 8);
    p.dispose();
    a.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
