import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { lossAndGradients } from '../../src/sae/gradients.js';
import { SaeParams, PARAM_NAMES } from '../../src/sae/params.js';
import { SparseWorkspace, sparseBackward } from '../../src/sae/sparse-gradients.js';
import { createSparseTrainStep } from '../../src/sae/sparse-step.js';
import { denseTrainStep } from '../../src/sae/step.js';
import { chooseKernel, selectStepKernel, SPARSE_CROSSOVER } from '../../src/train/kernel.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../helpers/tensors.js';
import { expectMatchesDense, trainFew } from './sparse-equivalence.js';

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

describe('sparse training step (cpu backend)', () => {
  for (const recipe of ['towards-monosemanticity', 'april-update'] as const) {
    for (const shift of [0, -0.6]) {
      it(`matches denseTrainStep over 4 steps (${recipe}, b_enc shift ${shift})`, async () => {
        await expectMatchesDense(createSparseTrainStep(), recipe, shift);
      });
    }
  }

  it('is deterministic for a fixed seed', async () => {
    const a = await trainFew(createSparseTrainStep(), 'towards-monosemanticity', 3, -0.3);
    const b = await trainFew(createSparseTrainStep(), 'towards-monosemanticity', 3, -0.3);
    expect(a.log).toEqual(b.log);
    for (const n of PARAM_NAMES) expect(Array.from(a.weights[n])).toEqual(Array.from(b.weights[n]));
  });

  it("'auto' matches dense and switches to sparse once L0 is low", async () => {
    await expectMatchesDense(selectStepKernel('auto'), 'towards-monosemanticity', -0.6);
    // The first step is dense; the rest ran sparse only if L0 was under the cpu crossover.
    const { log } = await trainFew(denseTrainStep, 'towards-monosemanticity', 4, -0.6);
    for (const s of log) expect(s.l0).toBeLessThan(SPARSE_CROSSOVER.cpu! * 48);
  });
});

describe('chooseKernel', () => {
  it('starts dense, goes sparse below the crossover, returns to dense only well above it', () => {
    expect(chooseKernel(Number.NaN, 1000, 'dense', 'wasm')).toBe('dense');
    expect(chooseKernel(500, 1000, 'dense', 'wasm')).toBe('dense');
    expect(chooseKernel(10, 1000, 'dense', 'wasm')).toBe('sparse');
    expect(chooseKernel(70, 1000, 'sparse', 'wasm')).toBe('sparse');
    expect(chooseKernel(200, 1000, 'sparse', 'wasm')).toBe('dense');
    expect(chooseKernel(200, 1000, 'dense', 'cpu')).toBe('sparse');
    // A fraction instead of a backend (the workers' crossover): 15%, back to dense above 22.5%.
    expect(chooseKernel(140, 1000, 'dense', 0.15)).toBe('sparse');
    expect(chooseKernel(160, 1000, 'dense', 0.15)).toBe('dense');
    expect(chooseKernel(220, 1000, 'sparse', 0.15)).toBe('sparse');
    expect(chooseKernel(230, 1000, 'sparse', 0.15)).toBe('dense');
  });
});
