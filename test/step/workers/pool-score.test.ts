import * as tf from '../../../src/backend/tfjs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/backend/select.js';
import type { Activation } from '../../../src/sae/activation.js';
import { SaeParams, PARAM_NAMES } from '../../../src/sae/params.js';
import { AdamState } from '../../../src/step/adam.js';
import { createStepEngine, type StepEngine } from '../../../src/step/engine.js';
import { ParallelStep } from '../../../src/step/workers/parallel-step.js';
import { resampleDeadFrom } from '../../../src/resample/resample.js';
import { tfjsRowScorer, type RowScorer } from '../../../src/resample/row-scorer.js';
import type { Batch } from '../../../src/data/types.js';
import { Rng } from '../../../src/util/rng.js';
import { randomData, randomWeights } from '../../helpers/tensors.js';
import { disposeStats } from '../../../src/step/dense.js';
import { tinySetup } from '../engines.js';
import { encode } from '../../../src/sae/forward.js';
import { SPARSE_DECODE_MAX_DENSITY } from '../../../src/step/workers/sparse-decode-rows.js';
import { SCREEN_MAX_DENSITY } from '../../../src/step/workers/screen-choice.js';

// Resampling's pool scored on the step's workers, each over a range of the rows, against the
// one-thread tfjs scoring (the reference). Worker threads run the built dist/.
const d = 24;
const m = 96;
const ROWS = 700;
const engines: StepEngine[] = [];
const steps: ParallelStep[] = [];

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(async () => {
  await Promise.all([...engines.map((e) => e.dispose()), ...steps.map((p) => p.dispose())]);
});

const byWorkers = new Map<string, StepEngine>();
/** One engine per worker count for the file (each starts its threads once). */
const engine = (workers: number, hostKernels = true) => {
  const key = `${workers}:${hostKernels}`;
  if (!byWorkers.has(key)) {
    const e = createStepEngine({ kind: 'auto', workers, simd: true, batchSize: 64, d, m, hostKernels });
    engines.push(e);
    byWorkers.set(key, e);
  }
  return byWorkers.get(key)!;
};

/** Every packed value of the pool's rows, in row order: losses, ||x||^2, ||x - b_dec||^2 (the column sums left out). */
/** Fraction of f's entries that are active on x. */
async function activeShare(params: SaeParams, x: Float32Array): Promise<number> {
  const t = tf.tidy(() => tf.mean(tf.step(encode(params, tf.tensor2d(x, [x.length / d, d])))));
  const v = (await t.data())[0]!;
  t.dispose();
  return v;
}

async function scoreAll(scorer: RowScorer, x: Float32Array, rows: number): Promise<{ loss: number[]; xSq: number[]; xcSq: number[] }> {
  const out = { loss: [] as number[], xSq: [] as number[], xcSq: [] as number[] };
  for (let start = 0; start < rows; start += scorer.chunkRows) {
    const c = Math.min(scorer.chunkRows, rows - start);
    for (const { rows: n, packed } of await scorer.score(x.subarray(start * d, (start + c) * d), c)) {
      out.loss.push(...packed.subarray(0, n));
      out.xSq.push(...packed.subarray(n, 2 * n));
      out.xcSq.push(...packed.subarray(2 * n, 3 * n));
    }
  }
  return out;
}

const ACTIVATIONS: [string, Activation][] = [
  ['relu', { kind: 'relu' }],
  ['topk', { kind: 'topk', k: 5 }],
  ['jumprelu', { kind: 'jumprelu', threshold: Float32Array.from({ length: m }, (_, i) => 0.05 * (i % 7)) }],
];

const poolBatch = (x: Float32Array, rows: number): Batch => ({ x, rows, d, rowIds: Float64Array.from({ length: rows }, (_, i) => 1000 + i), meta: {} });

/**
 * Weights whose f is about half dense, sparse (~8% of entries active: b_enc shifted down, as after
 * training), or sparser than SCREEN_MAX_DENSITY (the workers then screen their encoder products).
 */
const SHIFT = { dense: 0, sparse: 2, screened: 3.2 } as const;
const weights = (seed: number, level: keyof typeof SHIFT) => {
  const w = randomWeights(d, m, seed);
  for (let i = 0; i < m; i++) w.b_enc[i]! -= SHIFT[level];
  return w;
};

/** Relative difference, per row, of two lists of non-negative values. */
const worstRelative = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!) / Math.max(1e-6, Math.abs(b[i]!))));

describe('resampling pool scored on the step workers', () => {
  for (const [name, activation] of ACTIVATIONS) {
    // ReLU and JumpReLU: the step's forward pass in its own memory (pool-score-slice.ts); TopK: tfjs on each worker's rows (pool-score-rows.ts).
    const inStepMemory = name !== 'topk';
    it(`${name}: per-row scores equal the one-thread tfjs scoring (${inStepMemory ? 'to float32 rounding, both decodes' : 'the dense decode bit for bit, the sparse one to float32 rounding'}), 1, 2 and 3 workers`, async () => {
      const x = randomData(ROWS, d, 6);
      for (const level of ['dense', 'sparse', 'screened'] as const) {
        const params = new SaeParams({ ...weights(5, level), activation });
        const ref = await scoreAll(tfjsRowScorer(params, 256), x, ROWS);
        const density = await activeShare(params, x);
        // Which decode (and which product) each case exercises.
        if (inStepMemory) expect(density > SPARSE_DECODE_MAX_DENSITY).toBe(level === 'dense');
        if (level === 'screened') expect(density).toBeLessThan(SCREEN_MAX_DENSITY);
        if (level === 'screened' && name === 'relu') expect(density).toBeGreaterThan(0);
        for (const workers of [1, 2, 3]) {
          for (const sparseUpTo of [-1, undefined]) {
            const scorer = (await engine(workers).poolScorer(params, sparseUpTo === undefined ? {} : { sparseUpTo }))!;
            expect(scorer.where).toBe(`${workers} workers`);
            // The step's batch (64 rows) per chunk in its memory; a chunk of rows per worker otherwise.
            if (inStepMemory) expect(scorer.chunkRows).toBe(64);
            else expect(scorer.chunkRows).toBeGreaterThan(64);
            const got = await scoreAll(scorer, x, ROWS);
            await scorer.dispose();
            if (!inStepMemory && (sparseUpTo === -1 || density > SPARSE_DECODE_MAX_DENSITY)) {
              // The dense decode: each row's loss from the same tensor functions on that row alone, the same bits.
              expect(got.loss).toEqual(ref.loss);
              expect(got.xSq).toEqual(ref.xSq);
              expect(got.xcSq).toEqual(ref.xcSq);
            } else {
              expect(worstRelative(got.loss, ref.loss)).toBeLessThan(2e-5);
              expect(worstRelative(got.xSq, ref.xSq)).toBeLessThan(2e-6);
              expect(worstRelative(got.xcSq, ref.xcSq)).toBeLessThan(2e-6);
            }
          }
        }
        params.dispose();
      }
    });
  }

  it('resampling through the workers (sparse decode) draws the same rows and writes the same weights and moments as on one thread', async () => {
    const dead = Int32Array.from([3, 10, 11, 40, 41, 42, 77, 95]);
    const x = randomData(ROWS, d, 8);
    const run = async (scorer: (p: SaeParams) => Promise<RowScorer | null>) => {
      const params = new SaeParams(weights(7, 'sparse'));
      const adam = new AdamState(d, m);
      const s = await scorer(params);
      const pool = [poolBatch(x.subarray(0, 300 * d), 300), { ...poolBatch(x.subarray(300 * d), ROWS - 300), rowIds: Float64Array.from({ length: ROWS - 300 }, (_, i) => 1300 + i) }];
      const result = await resampleDeadFrom(params, adam, dead, pool, new Rng(9), { encoderScale: 0.2, centre: true, ...(s ? { scorer: s } : {}) });
      await (s as { dispose?: () => Promise<void> } | null)?.dispose?.();
      const w = params.readSync();
      const moments = (await adam.m.W_dec.data()) as Float32Array;
      params.dispose();
      adam.dispose();
      return { result, w, moments };
    };
    const ref = await run(async () => null);
    const e = engine(2);
    const got = await run((p) => e.poolScorer(p));
    expect(ref.result.scoredOn).toBe('this thread');
    expect(got.result.scoredOn).toBe('2 workers');
    // Not knife-edge: losses equal to float32 rounding draw the same rows.
    expect(got.result.draws.map((r) => r.rowId)).toEqual(ref.result.draws.map((r) => r.rowId));
    expect(worstRelative(got.result.draws.map((r) => r.loss), ref.result.draws.map((r) => r.loss))).toBeLessThan(2e-5);
    expect(Array.from(got.result.indices)).toEqual(Array.from(dead));
    expect(got.result.pool!.loss.mean).toBeCloseTo(ref.result.pool!.loss.mean, 4);
    expect(got.result.pool!.explainedVariance).toBeCloseTo(ref.result.pool!.explainedVariance, 5);
    for (const n of PARAM_NAMES) expect(got.w[n]).toEqual(ref.w[n]);
    expect(got.moments).toEqual(ref.moments);
  });

  it('scores the weights a worker step left in the workers (the engine syncs them first), and leaks no tensor', async () => {
    const e = engine(3);
    const { w, cfg } = tinySetup(d, m, 'april-update', 0);
    const params = new SaeParams(w);
    const adam = new AdamState(d, m);
    const xb = tf.tensor2d(randomData(64, d, 12), [64, d]);
    const before0 = params.readSync().W_enc;
    disposeStats(await e.step(params, adam, xb, { ...cfg, lr: 0.05 }));
    xb.dispose();
    expect(e.describe()).toMatch(/workers/);
    const before = tf.memory().numTensors;
    const x = randomData(300, d, 13);
    const scorer = (await e.poolScorer(params))!;
    // poolScorer synced: params now hold the step's weights, which the one-thread reference scores.
    const got = await scoreAll(scorer, x, 300);
    await scorer.dispose();
    expect(params.readSync().W_enc).not.toEqual(before0);
    const ref = await scoreAll(tfjsRowScorer(params), x, 300);
    expect(worstRelative(got.loss, ref.loss)).toBeLessThan(2e-5);
    expect(tf.memory().numTensors).toBe(before);
    params.dispose();
    adam.dispose();
  });

  it('leaves no tensor in the workers after an event (TopK: tensors during it; ReLU: none at all)', async () => {
    const p = await ParallelStep.create({ batchSize: 64, d, m, workers: 2, backend: tf.getBackend(), simd: true });
    steps.push(p);
    const before = await p.workerTensors();
    for (const activation of [{ kind: 'topk', k: 5 }, { kind: 'relu' }] as Activation[]) {
      const params = new SaeParams({ ...randomWeights(d, m, 14), activation });
      const scorer = await p.poolScorer(params);
      await scoreAll(scorer, randomData(100, d, 15), 100);
      const during = await p.workerTensors();
      if (activation.kind === 'topk') expect(during.every((n, k) => n > before[k]!)).toBe(true);
      else expect(during).toEqual(before);
      await scorer.dispose();
      expect(await p.workerTensors()).toEqual(before);
      params.dispose();
    }
  });

  for (const [name, activation] of ACTIVATIONS.filter(([n]) => n !== 'topk')) {
    it(`${name}: scoring between two worker steps changes nothing the steps compute (the same bits as without it)`, async () => {
      const { w, cfg } = tinySetup(d, m, 'towards-monosemanticity', -1);
      const run = async (scoreBetween: 'no' | 'same' | 'other') => {
        const e = createStepEngine({ kind: 'sparse', workers: 2, simd: true, batchSize: 64, d, m });
        engines.push(e);
        const params = new SaeParams({ ...w, activation });
        const adam = new AdamState(d, m);
        const fired: number[][] = [];
        for (let k = 0; k < 3; k++) {
          const xb = tf.tensor2d(randomData(64, d, 20 + k), [64, d]);
          const stats = await e.step(params, adam, xb, cfg);
          fired.push(Array.from((await stats.firedCounts.data()) as Float32Array));
          disposeStats(stats);
          xb.dispose();
          expect(e.describe()).toMatch(/workers/);
          if (k === 0 && scoreBetween !== 'no') {
            await e.sync();
            // 'other': another SAE's weights go into the workers' arrays for the event.
            const scored = scoreBetween === 'same' ? params : new SaeParams({ ...randomWeights(d, m, 30), activation });
            const scorer = (await e.poolScorer(scored))!;
            await scoreAll(scorer, randomData(200, d, 31), 200);
            await scorer.dispose();
            if (scored !== params) scored.dispose();
          }
        }
        await e.sync();
        const out = { w: params.readSync(), v: (await adam.v.W_enc.data()) as Float32Array, fired };
        params.dispose();
        adam.dispose();
        return out;
      };
      const ref = await run('no');
      for (const mode of ['same', 'other'] as const) {
        const got = await run(mode);
        for (const n of PARAM_NAMES) expect(got.w[n]).toEqual(ref.w[n]);
        expect(got.v).toEqual(ref.v);
        expect(got.fired).toEqual(ref.fired);
      }
    });
  }

  it('no workers, or a GPU backend (no host kernels): no worker scorer, the caller scores on its thread', async () => {
    const params = new SaeParams(randomWeights(d, m, 16));
    expect(await engine(0).poolScorer(params)).toBeNull();
    expect(await engine(2, false).poolScorer(params)).toBeNull();
    params.dispose();
  });
});
