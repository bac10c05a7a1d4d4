import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBackendErrors, currentBackend, initBackend, releaseBackend } from '../../src/backend/select.js';
import { loadWebgpu, webgpuAdapter } from '../../src/backend/webgpu.js';
import { BackendError, ConfigError } from '../../src/errors.js';
import { checkRunFitsBackend } from '../../src/train/backend-fit.js';
import { buildConfig } from '../helpers/config.js';
import { RUN_WEBGPU } from '../helpers/webgpu.js';
import { expectReferenceMatchesOn } from '../step/engines.js';
import { checkHandCase } from '../resample/cases.js';

/** The WebGPU backend on whatever adapter Dawn offers (lavapipe in CI), against the cpu backend. */
describe.skipIf(!RUN_WEBGPU)('webgpu backend', () => {
  beforeAll(async () => {
    await initBackend('webgpu');
  });
  afterAll(() => releaseBackend());

  it('loads, reports its adapter and limits, and reads only asynchronously', async () => {
    const info = currentBackend()!;
    expect(info.name).toBe('webgpu');
    expect(info.adapter!.description.length).toBeGreaterThan(0);
    expect(info.adapter!.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(info.capabilities).toEqual({ syncReads: false, hostKernels: false, maxTensorBytes: info.adapter!.maxStorageBufferBindingSize });
    expect(tf.getBackend()).toBe('webgpu');
    const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
    expect(Array.from(await y.data())).toEqual([11]);
    // The hazard the async reads exist for (a tensor not yet read asynchronously).
    const z = tf.add(y, 1);
    expect(() => z.dataSync()).toThrow();
    tf.dispose([y, z]);
  });

  it("is not what 'auto' picks on a software adapter", async () => {
    const a = webgpuAdapter()!;
    if (!a.software) return; // a real GPU: auto may use it
    await expect(loadWebgpu(false)).rejects.toThrow(/software adapter|no GPU device/);
  });

  for (const recipe of ['towards-monosemanticity', 'april-update'] as const) {
    it(`the dense step matches the cpu backend over 4 steps (${recipe})`, async () => {
      await tf.setBackend('cpu');
      try {
        await expectReferenceMatchesOn('webgpu', recipe, -0.3);
      } finally {
        await tf.setBackend('webgpu');
      }
    });
  }

  it('resamples exactly the dead rows, columns, biases and Adam moments', async () => {
    await checkHandCase(false);
    await checkHandCase(true);
  });

  it('turns a GPU validation error into a BackendError instead of wrong numbers', async () => {
    const limit = currentBackend()!.capabilities.maxTensorBytes;
    if (limit > 2 ** 30) return; // a real GPU: too large to provoke cheaply
    checkBackendErrors('nothing');
    const big = tf.zeros([limit / 4 + 1024]);
    const sum = tf.sum(big);
    await sum.data();
    tf.dispose([big, sum]);
    expect(() => checkBackendErrors('the test')).toThrow(BackendError);
    expect(() => checkBackendErrors('the test')).not.toThrow();
  });

  it('refuses a run whose tensors exceed one GPU binding, or the host-loop sparse step, before allocating', () => {
    const limit = currentBackend()!.capabilities.maxTensorBytes;
    const plan = { d: 64, m: 512 } as Parameters<typeof checkRunFitsBackend>[1];
    checkRunFitsBackend(buildConfig({ train: { batchSize: 256 } }), plan);
    const tooBig = Math.ceil(limit / (4 * 512)) + 1;
    const err = (() => {
      try {
        checkRunFitsBackend(buildConfig({ train: { batchSize: tooBig } }), plan);
      } catch (e) {
        return e as BackendError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(BackendError);
    expect(err!.message).toMatch(new RegExp(`\\[${tooBig}, 512\\] is [\\d.]+ MiB of float32, more than the GPU binds in one buffer`));
    expect(err!.hint).toBe(`Lower train.batchSize to ${Math.floor(limit / (4 * 512))} or less.`);
    expect(() => checkRunFitsBackend(buildConfig({ train: { kernel: 'sparse' } }), plan)).toThrow(ConfigError);
  });
});
