import * as tf from '../../src/backend/tfjs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBackendErrors, currentBackend, initBackend, releaseBackend } from '../../src/backend/select.js';
import { loadWebgpu, webgpuAdapter } from '../../src/backend/webgpu.js';
import { BackendError, ConfigError } from '../../src/errors.js';
import { checkRunFitsBackend } from '../../src/train/backend-fit.js';
import { buildConfig } from '../helpers/config.js';
import { RUN_WEBGPU } from '../helpers/webgpu.js';
import { expectReferenceMatchesOn, tinySetup } from '../step/engines.js';
import { SaeParams } from '../../src/sae/params.js';
import { AdamState } from '../../src/step/adam.js';
import { denseTrainStep, disposeStats } from '../../src/step/dense.js';
import { randomData } from '../helpers/tensors.js';
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

  // tfjs' split-K matMul (atomics) would make these differ from run to run; loadWebgpu keeps every
  // product on the tiled kernel. Shapes chosen so tfjs would pick split-K: few output tiles, K >= 2000.
  it('gives the same bits every time: column sums over 4096 rows, and a dense step at d = 256', async () => {
    const M = tf.randomNormal([4096, 512], 0, 1, 'float32', 3);
    const ones = tf.ones([1, 4096]);
    const sums: Uint32Array[] = [];
    for (let i = 0; i < 4; i++) {
      const y = tf.matMul(ones, M);
      sums.push(new Uint32Array((await y.data()).buffer));
      y.dispose();
    }
    for (const s of sums.slice(1)) expect(s).toEqual(sums[0]);
    tf.dispose([M, ones]);

    const [dIn, width, rows] = [256, 32, 2048];
    const once = async (): Promise<Uint32Array[]> => {
      const { w, cfg } = tinySetup(dIn, width, 'towards-monosemanticity', 0);
      const params = new SaeParams(w);
      const adam = new AdamState(dIn, width);
      const x = tf.tensor2d(randomData(rows, dIn, 5), [rows, dIn]);
      disposeStats(await denseTrainStep(params, adam, x, cfg));
      const out = await Promise.all([params.W_enc, params.b_enc, params.W_dec, params.b_dec].map(async (t) => new Uint32Array((await t.data()).buffer)));
      x.dispose();
      params.dispose();
      adam.dispose();
      return out;
    };
    const [a, b] = [await once(), await once()];
    for (let i = 0; i < a.length; i++) expect(b[i], `parameter ${i}`).toEqual(a[i]);
  }, 60_000);

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
