import * as tf from '../../src/backend/tfjs.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { lossAndGradients } from '../../src/sae/gradients.js';
import { SaeParams, PARAM_NAMES } from '../../src/sae/params.js';
import { SparseWorkspace, sparseBackward } from '../../src/step/sparse-gradients.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../helpers/tensors.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('sparseBackward', () => {
  for (const penalty of ['l1', 'l1-decoder-norm'] as const) {
    it(`gives the dense gradients and statistics (${penalty})`, () => {
      const d = 7;
      const m = 30;
      const B = 21;
      const w = randomWeights(d, m, 8);
      for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) w.W_dec[i * d + j]! *= 0.4 + (i % 4) * 0.3;
      const params = new SaeParams(w);
      const xs = randomData(B, d, 9);
      const x = tf.tensor2d(xs, [B, d]);
      const before = tf.memory().numTensors;
      const f = tf.tidy(() => tf.relu(tf.add(tf.matMul(tf.sub(x, params.b_dec), params.W_enc), params.b_enc)));
      const ws = new SparseWorkspace();
      const inputs = { B, d, m, x: xs, f: f.dataSync() as Float32Array, W_enc: w.W_enc, W_dec: w.W_dec, b_dec: w.b_dec, l1Coefficient: 0.07, penalty };
      const r = sparseBackward(ws, inputs);
      const { grads, stats } = lossAndGradients(params, x, 0.07, penalty);
      for (const n of PARAM_NAMES) {
        const ref = grads[n].dataSync();
        expect(maxAbs(ref)).toBeGreaterThan(0);
        expect(maxAbsDiff(r[n], ref)).toBeLessThan(1e-5 * Math.max(1, maxAbs(ref)));
      }
      expect(Array.from(r.firedCounts)).toEqual(Array.from(stats.firedCounts.dataSync()));
      for (const k of ['loss', 'mse', 'l1', 'l0', 'sse', 'totalVariance'] as const) {
        expect(r[k]).toBeCloseTo(stats[k].dataSync()[0]!, 3);
      }
      // The workspace is reused: a second call on the same inputs gives the same answer.
      const again = sparseBackward(ws, inputs);
      expect(again.loss).toBe(r.loss);
      f.dispose();
      PARAM_NAMES.forEach((n) => grads[n].dispose());
      Object.values(stats).forEach((t) => t.dispose());
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
      params.dispose();
    });
  }
});
