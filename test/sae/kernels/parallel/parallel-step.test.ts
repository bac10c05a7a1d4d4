import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../../src/backend/select.js';
import { ParallelStep } from '../../../../src/sae/kernels/parallel/parallel-step.js';
import { TRANSPOSE_GRADS_FROM_D } from '../../../../src/sae/kernels/parallel/slice-dense.js';
import { PARAM_NAMES, SaeParams, type SaeWeights } from '../../../../src/sae/params.js';
import { denseTrainStep, disposeStats, type Recipe, type StepConfig } from '../../../../src/sae/step.js';
import { AdamState } from '../../../../src/train/adam.js';
import { createStepRunner, type StepRunner } from '../../../../src/train/kernel.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../../../helpers/tensors.js';
import { tinySetup } from '../../sparse-equivalence.js';

// Worker threads run the built dist/ (npm test builds first).
const d = 10;
const m = 48;
const B = 37;

const setup = (recipe: Recipe, bEncShift: number) => tinySetup(d, m, recipe, bEncShift);

type Step = (params: SaeParams, adam: AdamState, x: tf.Tensor2D, cfg: StepConfig) => Promise<ReturnType<typeof denseTrainStep>>;

async function train(step: Step, recipe: Recipe, steps: number, bEncShift: number, between?: (p: SaeParams, s: number) => void) {
  const { w, cfg } = setup(recipe, bEncShift);
  const params = new SaeParams(w);
  const adam = new AdamState(d, m);
  const log: { loss: number; l0: number; mse: number; fired: number[] }[] = [];
  for (let s = 0; s < steps; s++) {
    const x = tf.tensor2d(randomData(B, d, 100 + s), [B, d]);
    const before = tf.memory().numTensors;
    const stats = await step(params, adam, x, cfg);
    log.push({ loss: stats.loss.dataSync()[0]!, mse: stats.mse.dataSync()[0]!, l0: stats.l0.dataSync()[0]!, fired: Array.from(stats.firedCounts.dataSync()) });
    disposeStats(stats);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    between?.(params, s);
  }
  const weights = params.readSync();
  const moments = PARAM_NAMES.map((n) => adam.v[n].dataSync() as Float32Array);
  params.dispose();
  adam.dispose();
  return { weights, log, moments };
}

function expectClose(got: Awaited<ReturnType<typeof train>>, ref: Awaited<ReturnType<typeof train>>): void {
  for (let s = 0; s < ref.log.length; s++) {
    expect(got.log[s]!.loss).toBeCloseTo(ref.log[s]!.loss, 4);
    expect(got.log[s]!.l0).toBe(ref.log[s]!.l0);
    expect(got.log[s]!.fired).toEqual(ref.log[s]!.fired);
  }
  for (const n of PARAM_NAMES) {
    expect(maxAbsDiff(got.weights[n], ref.weights[n])).toBeLessThan(1e-4 * Math.max(1, maxAbs(ref.weights[n])));
  }
  got.moments.forEach((v, k) => expect(maxAbsDiff(v, ref.moments[k]!)).toBeLessThan(1e-4 * Math.max(1e-6, maxAbs(ref.moments[k]!))));
}

const dense: Step = async (p, a, x, c) => denseTrainStep(p, a, x, c);
const runners: StepRunner[] = [];
function runner(workers: number, kind: 'sparse' | 'dense' | 'auto' = 'sparse', simd = true): Step {
  const r = createStepRunner({ kind, workers, simd, batchSize: B, d, m, sparseCapacity: 1 });
  runners.push(r);
  return async (p, a, x, c) => {
    const stats = await r.step(p, a, x, c);
    // The workers ran (not the one-thread fallback), with the loops asked for.
    expect(r.describe()).toMatch(kind === 'dense' ? /^dense x\d workers$/ : new RegExp(`^sparse x${workers} workers \\(${simd ? 'simd' : 'js'}\\)$`));
    return stats;
  };
}

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(async () => {
  await Promise.all(runners.map((r) => r.dispose()));
});

describe('training step on worker threads', () => {
  for (const recipe of ['towards-monosemanticity', 'april-update'] as const) {
    for (const workers of [2, 3]) {
      it(`matches denseTrainStep over 4 steps (${recipe}, ${workers} workers)`, async () => {
        const ref = await train(dense, recipe, 4, -0.4);
        expect(ref.log[3]!.l0).toBeGreaterThan(0);
        expectClose(await train(runner(workers), recipe, 4, -0.4), ref);
      });
    }
  }

  for (const recipe of ['towards-monosemanticity', 'april-update'] as const) {
    it(`runs the dense formulation on the workers too, matching denseTrainStep (${recipe})`, async () => {
      const ref = await train(dense, recipe, 4, 0);
      expect(ref.log[0]!.l0).toBeGreaterThan(m / 4);
      expectClose(await train(runner(2, 'dense'), recipe, 4, 0), ref);
    });
  }

  it('uses the SIMD loops, and the JavaScript loops give the same steps', async () => {
    const r = createStepRunner({ kind: 'sparse', workers: 2, simd: true, batchSize: B, d, m, sparseCapacity: 1 });
    runners.push(r);
    const simd = await train((p, a, x, c) => r.step(p, a, x, c), 'towards-monosemanticity', 4, -0.4);
    expect(r.describe()).toBe('sparse x2 workers (simd)');
    expectClose(await train(runner(2, 'sparse', false), 'towards-monosemanticity', 4, -0.4), simd);
  });

  it(`dense on the workers with d >= ${TRANSPOSE_GRADS_FROM_D} (transposed weight-gradient products) matches denseTrainStep`, async () => {
    const D = TRANSPOSE_GRADS_FROM_D;
    const M = 12;
    const rows = 20;
    const run = async (step: (p: SaeParams, a: AdamState, x: tf.Tensor2D, c: StepConfig) => Promise<ReturnType<typeof denseTrainStep> | null>) => {
      const w = randomWeights(D, M, 4);
      const params = new SaeParams(w);
      const adam = new AdamState(D, M);
      const { cfg } = setup('april-update', 0);
      const losses: number[] = [];
      for (let k = 0; k < 2; k++) {
        const x = tf.tensor2d(randomData(rows, D, 50 + k), [rows, D]);
        const st = (await step(params, adam, x, cfg))!;
        losses.push(st.loss.dataSync()[0]!);
        disposeStats(st);
        x.dispose();
      }
      const out = params.readSync();
      params.dispose();
      adam.dispose();
      return { out, losses };
    };
    const p = await ParallelStep.create({ batchSize: rows, d: D, m: M, workers: 2, backend: tf.getBackend(), simd: true });
    try {
      const got = await run((pa, a, x, c) => p.step(pa, a, x, c, undefined, true));
      const ref = await run(async (pa, a, x, c) => denseTrainStep(pa, a, x, c));
      got.losses.forEach((l, k) => expect(Math.abs(l - ref.losses[k]!) / ref.losses[k]!).toBeLessThan(1e-5));
      for (const n of PARAM_NAMES) expect(maxAbsDiff(got.out[n], ref.out[n])).toBeLessThan(1e-4 * Math.max(1, maxAbs(ref.out[n])));
    } finally {
      await p.dispose();
    }
  });

  it('is deterministic for a fixed worker count', async () => {
    const a = await train(runner(2), 'april-update', 3, -0.3);
    const b = await train(runner(2), 'april-update', 3, -0.3);
    expect(a.log).toEqual(b.log);
    for (const n of PARAM_NAMES) expect(Array.from(a.weights[n])).toEqual(Array.from(b.weights[n]));
  });

  it('reloads params written between steps (as resampling does) after invalidate()', async () => {
    const bump = (p: SaeParams, s: number) => {
      if (s !== 1) return;
      const w: SaeWeights = p.readSync();
      const b_enc = Float32Array.from(w.b_enc, (v, i) => (i % 5 === 0 ? v + 0.5 : v));
      p.write({ ...w, b_enc });
    };
    const ref = await train(dense, 'towards-monosemanticity', 4, -0.4, bump);
    const r = createStepRunner({ kind: 'sparse', workers: 2, simd: true, batchSize: B, d, m, sparseCapacity: 1 });
    runners.push(r);
    const got = await train((p, a, x, c) => r.step(p, a, x, c), 'towards-monosemanticity', 4, -0.4, (p, s) => {
      bump(p, s);
      if (s === 1) r.invalidate();
    });
    expectClose(got, ref);
  });

  it("'auto' picks by a probe of L0: dense at initialisation, workers when sparse; matches dense", async () => {
    const dense0 = createStepRunner({ kind: 'auto', workers: 2, simd: true, batchSize: B, d, m, sparseCapacity: 1 });
    runners.push(dense0);
    await train(async (p, a, x, c) => dense0.step(p, a, x, c), 'april-update', 1, 0);
    expect(dense0.describe()).toBe('dense x2 workers');

    const r = createStepRunner({ kind: 'auto', workers: 2, simd: true, batchSize: B, d, m, sparseCapacity: 1 });
    runners.push(r);
    const seen: string[] = [];
    const ref = await train(dense, 'april-update', 4, -1.6);
    const got = await train(async (p, a, x, c) => {
      const s = await r.step(p, a, x, c);
      seen.push(r.describe());
      return s;
    }, 'april-update', 4, -1.6);
    expect(ref.log[3]!.l0).toBeGreaterThan(0);
    for (const k of seen) expect(k).toMatch(/^sparse x2 workers/);
    expectClose(got, ref);
  });

  it('runs a batch too dense for the sparse buffers as the dense formulation on the workers', async () => {
    const r = createStepRunner({ kind: 'sparse', workers: 2, simd: true, batchSize: B, d, m, sparseCapacity: 0.001 });
    runners.push(r);
    const ran: string[] = [];
    const got = await train(async (p, a, x, c) => {
      const st = await r.step(p, a, x, c);
      ran.push(r.describe());
      return st;
    }, 'april-update', 3, 0);
    expect(ran).toEqual(['dense x2 workers', 'dense x2 workers', 'dense x2 workers']);
    expectClose(got, await train(dense, 'april-update', 3, 0));
  });

  it('goes on in one thread, with a warning, when the workers cannot start', async () => {
    const warnings: string[] = [];
    const r = createStepRunner({ kind: 'sparse', workers: 2, simd: true, batchSize: B, d, m, backend: 'no-such-backend', onWarning: (w) => warnings.push(w) });
    runners.push(r);
    const got = await train((p, a, x, c) => r.step(p, a, x, c), 'april-update', 3, -0.4);
    expect(r.describe()).toBe('sparse');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^the 2 worker threads did not start .*no-such-backend.*one thread/);
    expectClose(got, await train(dense, 'april-update', 3, -0.4));
  });

  it('uses no more workers than there are features', async () => {
    const r = createStepRunner({ kind: 'sparse', workers: 4, simd: true, batchSize: B, d, m: 3, sparseCapacity: 1 });
    runners.push(r);
    const w = randomWeights(d, 3, 2);
    const params = new SaeParams(w);
    const adam = new AdamState(d, 3);
    const x = tf.tensor2d(randomData(B, d, 9), [B, d]);
    disposeStats(await r.step(params, adam, x, setup('april-update', 0).cfg));
    expect(r.describe()).toBe('sparse x3 workers (simd)');
    tf.dispose([x]);
    params.dispose();
    adam.dispose();
  });

  it('leaves no tensors behind in the workers from step to step (sparse and dense)', async () => {
    const { w, cfg } = setup('april-update', -0.4);
    const step = await ParallelStep.create({ batchSize: B, d, m, workers: 2, backend: tf.getBackend(), simd: true, capacityFraction: 1 });
    try {
      const params = new SaeParams(w);
      const adam = new AdamState(d, m);
      const counts: number[][] = [];
      for (let k = 0; k < 6; k++) {
        const x = tf.tensor2d(randomData(B, d, 70 + k), [B, d]);
        const st = await step.step(params, adam, x, cfg, undefined, k % 2 === 1);
        disposeStats(st!);
        x.dispose();
        counts.push(await step.workerTensors());
      }
      for (const c of counts) expect(c).toEqual(counts[0]);
      params.dispose();
      adam.dispose();
    } finally {
      await step.dispose();
    }
  });

  it('declines a batch with more active entries than a slice holds, leaving the state untouched', async () => {
    const { w, cfg } = setup('april-update', 0.5);
    const step = await ParallelStep.create({ batchSize: B, d, m, workers: 2, backend: tf.getBackend(), simd: true, capacityFraction: 0.001 });
    try {
      const params = new SaeParams(w);
      const adam = new AdamState(d, m);
      const x = tf.tensor2d(randomData(B, d, 5), [B, d]);
      expect(await step.step(params, adam, x, cfg)).toBeNull();
      expect(adam.t).toBe(0);
      expect(Array.from(params.readSync().W_enc)).toEqual(Array.from(w.W_enc));
      const big = tf.tensor2d(randomData(B + 1, d, 6), [B + 1, d]);
      expect(await step.step(params, adam, big, cfg)).toBeNull();
      tf.dispose([x, big]);
      params.dispose();
      adam.dispose();
    } finally {
      await step.dispose();
    }
  });
});
