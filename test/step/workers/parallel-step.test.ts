import * as tf from '../../../src/backend/tfjs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/backend/select.js';
import { ParallelStep } from '../../../src/step/workers/parallel-step.js';
import { TRANSPOSE_GRADS_FROM_D } from '../../../src/step/workers/slice-dense.js';
import { PARAM_NAMES, SaeParams, type SaeWeights } from '../../../src/sae/params.js';
import { denseTrainStep, disposeStats, type StepConfig } from '../../../src/step/dense.js';
import { AdamState } from '../../../src/step/adam.js';
import { createStepEngine, type StepEngine } from '../../../src/step/engine.js';
import type { RecipeName } from '../../../src/sae/recipe.js';
import { maxAbs, maxAbsDiff, randomData, randomWeights } from '../../helpers/tensors.js';
import { B, d, expectClose, m, reference as dense, tinySetup, train, viaEngine } from '../engines.js';

// What only the worker formulation has (fallbacks, reloads, its own buffers); its equivalence
// with the reference is in test/step/equivalence.test.ts. Worker threads run the built dist/.

const setup = (recipe: RecipeName, bEncShift: number) => tinySetup(d, m, recipe, bEncShift);
const engines: StepEngine[] = [];

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(async () => {
  await Promise.all(engines.map((r) => r.dispose()));
});

describe('training step on worker threads', () => {
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
      p.sync();
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

  it('holds the state in the workers between steps: params and adam change only at sync()', async () => {
    const ref = await train(dense, 'towards-monosemanticity', 3, -0.4);
    const r = createStepEngine({ kind: 'sparse', workers: 2, simd: true, batchSize: B, d, m, sparseCapacity: 1 });
    engines.push(r);
    const initial = setup('towards-monosemanticity', -0.4).w;
    const seenBeforeSync: Float32Array[] = [];
    const step = viaEngine(r);
    const held = Object.assign(
      async (p: SaeParams, a: AdamState, x: tf.Tensor2D, c: StepConfig) => {
        const st = await step(p, a, x, c);
        seenBeforeSync.push(p.readSync().W_dec.slice());
        return st;
      },
      { sync: step.sync },
    );
    const got = await train(held, 'towards-monosemanticity', 3, -0.4);
    // Until the final sync the variables still hold the initial weights; after it, the 3-step result.
    for (const w of seenBeforeSync) expect(Array.from(w)).toEqual(Array.from(initial.W_dec));
    expectClose(got, ref);
    expect(r.mainThreadMs().serial).toBeGreaterThan(0);
  });

  it('reloads params written between steps (as resampling does) after invalidate()', async () => {
    const bump = (p: SaeParams, s: number) => {
      if (s !== 1) return;
      const w: SaeWeights = p.readSync();
      const b_enc = Float32Array.from(w.b_enc, (v, i) => (i % 5 === 0 ? v + 0.5 : v));
      p.write({ ...w, b_enc });
    };
    const ref = await train(dense, 'towards-monosemanticity', 4, -0.4, bump);
    const r = createStepEngine({ kind: 'sparse', workers: 2, simd: true, batchSize: B, d, m, sparseCapacity: 1 });
    engines.push(r);
    const got = await train(viaEngine(r), 'towards-monosemanticity', 4, -0.4, (p, s) => {
      bump(p, s);
      if (s === 1) r.invalidate();
    });
    expectClose(got, ref);
  });

  it("'auto' picks by a probe of L0: dense at initialisation, workers when sparse; matches dense", async () => {
    const dense0 = createStepEngine({ kind: 'auto', workers: 2, simd: true, batchSize: B, d, m, sparseCapacity: 1 });
    engines.push(dense0);
    await train(viaEngine(dense0), 'april-update', 1, 0);
    expect(dense0.describe()).toBe('dense x2 workers');

    const r = createStepEngine({ kind: 'auto', workers: 2, simd: true, batchSize: B, d, m, sparseCapacity: 1 });
    engines.push(r);
    const seen: string[] = [];
    const ref = await train(dense, 'april-update', 4, -1.6);
    const got = await train(viaEngine(r, () => seen.push(r.describe())), 'april-update', 4, -1.6);
    expect(ref.log[3]!.l0).toBeGreaterThan(0);
    for (const k of seen) expect(k).toMatch(/^sparse x2 workers/);
    expectClose(got, ref);
  });

  it('runs a batch too dense for the sparse buffers as the dense formulation on the workers', async () => {
    const r = createStepEngine({ kind: 'sparse', workers: 2, simd: true, batchSize: B, d, m, sparseCapacity: 0.001 });
    engines.push(r);
    const ran: string[] = [];
    const got = await train(viaEngine(r, () => ran.push(r.describe())), 'april-update', 3, 0);
    expect(ran).toEqual(['dense x2 workers', 'dense x2 workers', 'dense x2 workers']);
    expectClose(got, await train(dense, 'april-update', 3, 0));
  });

  it('goes on in the main thread, with a warning, when the workers cannot start', async () => {
    const warnings: string[] = [];
    const r = createStepEngine({ kind: 'sparse', workers: 2, simd: true, batchSize: B, d, m, backend: 'no-such-backend', onWarning: (w) => warnings.push(w) });
    engines.push(r);
    const got = await train(viaEngine(r), 'april-update', 3, -0.4);
    expect(r.describe()).toBe('sparse');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^the 2 worker threads did not start .*no-such-backend.*the main thread/);
    expectClose(got, await train(dense, 'april-update', 3, -0.4));
  });

  it('uses no more workers than there are features', async () => {
    const r = createStepEngine({ kind: 'sparse', workers: 4, simd: true, batchSize: B, d, m: 3, sparseCapacity: 1 });
    engines.push(r);
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

  it("screens ReLU's encoder product once few entries are active, each worker preparing a share of the rows: the plain product's bits", async () => {
    const D = 24;
    const M = 2048;
    const rows = 61;
    const { cfg } = setup('towards-monosemanticity', 0);
    const run = async (screening: boolean) => {
      const w = randomWeights(D, M, 9);
      // About 0.2% of the entries active: below SCREEN_MAX_DENSITY (screen-choice.ts).
      for (let i = 0; i < M; i++) w.b_enc[i]! -= 2.7;
      const params = new SaeParams(w);
      const adam = new AdamState(D, M);
      const step = await ParallelStep.create({ batchSize: rows, d: D, m: M, workers: 3, backend: tf.getBackend(), simd: true });
      step.screening = screening;
      try {
        const log: number[][] = [];
        for (let k = 0; k < 4; k++) {
          const x = tf.tensor2d(randomData(rows, D, 80 + k), [rows, D]);
          const st = (await step.step(params, adam, x, cfg))!;
          log.push([st.loss, st.mse, st.l0, st.totalVariance].map((t) => t.dataSync()[0]!));
          disposeStats(st);
          x.dispose();
        }
        step.sync();
        const out = { log, weights: params.readSync(), v: PARAM_NAMES.map((n) => Array.from(adam.v[n].dataSync())), screened: step.screenedSteps };
        params.dispose();
        adam.dispose();
        return out;
      } finally {
        await step.dispose();
      }
    };
    const on = await run(true);
    const off = await run(false);
    // The first step has no density to go by; every later one is screened.
    expect(on.screened).toBe(3);
    expect(off.screened).toBe(0);
    for (const [, , l0] of on.log) {
      expect(l0).toBeGreaterThan(0.0005 * M);
      expect(l0).toBeLessThan(0.005 * M);
    }
    expect(on.log).toEqual(off.log);
    for (const n of PARAM_NAMES) expect(Array.from(on.weights[n])).toEqual(Array.from(off.weights[n]));
    expect(on.v).toEqual(off.v);
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
