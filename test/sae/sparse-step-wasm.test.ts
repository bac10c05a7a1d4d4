import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select.js';
import { createSparseTrainStep } from '../../src/sae/sparse-step.js';
import { PARAM_NAMES } from '../../src/sae/params.js';
import { selectStepKernel } from '../../src/train/kernel.js';
import { expectMatchesDense, trainFew } from './sparse-equivalence.js';

// The wasm backend reads tensors through views of its heap (kernels/host-io.ts): a separate file
// so that path is tested, not the cpu backend's copies.
beforeAll(async () => {
  await initBackend('wasm');
});

describe('sparse training step (wasm backend, heap views)', () => {
  it('runs on wasm', () => {
    expect(tf.getBackend()).toBe('wasm');
  });
  for (const recipe of ['towards-monosemanticity', 'april-update'] as const) {
    it(`matches denseTrainStep over 4 steps (${recipe})`, async () => {
      await expectMatchesDense(createSparseTrainStep(), recipe, -0.4);
    });
  }
  it("'auto' matches dense", async () => {
    await expectMatchesDense(selectStepKernel('auto'), 'april-update', -0.6);
  });
  it('is deterministic for a fixed seed', async () => {
    const a = await trainFew(createSparseTrainStep(), 'april-update', 3, -0.3);
    const b = await trainFew(createSparseTrainStep(), 'april-update', 3, -0.3);
    expect(a.log).toEqual(b.log);
    for (const n of PARAM_NAMES) expect(Array.from(a.weights[n])).toEqual(Array.from(b.weights[n]));
  });
});
