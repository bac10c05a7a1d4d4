import * as tf from '../backend/tfjs.js';
import { initBackend } from '../backend/select.js';
import { encode } from '../sae/forward.js';
import type { Batch } from '../data/types.js';
import { PoolScorer } from '../resample/score.js';
import { tfjsRowScorer, type RowScorer } from '../resample/row-scorer.js';
import { columnMean, initWeights } from '../sae/init.js';
import { SaeParams } from '../sae/params.js';
import { createStepEngine } from '../step/engine.js';
import { Rng } from '../util/rng.js';
import { openBatchSource } from './bench-data.js';
import type { BenchShape } from './configs.js';
import { sparsifyEncoderBias } from './train-bench.js';

/** One place a resampling event's pool was scored, and how long it took. */
export interface ResampleScoreTiming {
  where: string;
  /** Seconds from the first row offered to the draw (the scorer's set-up, e.g. the workers' copy of the SAE, included). */
  seconds: number;
  rowsPerSecond: number;
  /** Encoder and decoder products only (4 d m flops a row). */
  gflopPerSecond: number;
}

export interface ResampleScoreResult {
  config: string;
  d: number;
  m: number;
  rows: number;
  /** Features to resample (the reservoir's k). */
  dead: number;
  timings: ResampleScoreTiming[];
  /** Whether every place drew the same rows as the one-thread scoring. */
  sameDraws: boolean;
  /** Largest relative difference of the pool's mean loss from the one-thread scoring's. */
  meanLossRelativeDiff: number;
  /** Mean active features per row of the scored SAE (on the first pool batch). */
  l0: number;
}

/**
 * One resampling event's scoring (resample/score.ts PoolScorer over `rows` pool rows, in the
 * pool's batches of shape.batch rows) with a trained-regime SAE of the shape: with tfjs on this
 * thread, then on a step engine's `workers` threads (started before the clock, as in a run,
 * where they are running already) with the dense decode and as a run scores (sparse where f is). `npm run bench -- --resample-scoring`.
 */
export async function runResampleScoreBench(shape: BenchShape, rows: number, workers: number, seed: number, log: (s: string) => void): Promise<ResampleScoreResult> {
  const { d, m, batch } = shape;
  await initBackend('wasm');
  const source = await openBatchSource(shape, seed);
  const w = initWeights(d, m, new Rng(seed).fork('init'), 1, columnMean(source.sample, source.sampleRows, d));
  await sparsifyEncoderBias(w, source.sample, source.sampleRows, 32);
  const params = new SaeParams(w);
  const pool: Batch[] = [];
  for (let start = 0; start < rows; start += batch) {
    const n = Math.min(batch, rows - start);
    const x = (await source.next()).subarray(0, n * d);
    pool.push({ x, rows: n, d, rowIds: Float64Array.from({ length: n }, (_, i) => start + i), meta: {} });
  }
  const dead = Math.round(m / 10);
  const l0 = tf.tidy(() => tf.sum(tf.step(encode(params, tf.tensor2d(pool[0]!.x, [pool[0]!.rows, d])))).dataSync()[0]! / pool[0]!.rows);
  const engine = createStepEngine({ kind: 'auto', workers, simd: true, batchSize: batch, d, m });
  try {
    const score = async (label: string, make: () => Promise<RowScorer & { dispose?: () => Promise<void> }>) => {
      const t0 = performance.now();
      const scorer = await make();
      const ps = new PoolScorer(params, dead, false, new Rng(seed).fork('draw'), scorer);
      for (const b of pool) await ps.add(b);
      const out = ps.finish();
      await scorer.dispose?.();
      const seconds = (performance.now() - t0) / 1000;
      log(`  ${label}: ${seconds.toFixed(1)} s`);
      return { where: label, seconds, out };
    };
    log(`resample scoring: config ${shape.name} (d ${d}, m ${m}), ${rows} pool rows, ${dead} dead features`);
    const runs = [await score('tfjs, this thread', async () => tfjsRowScorer(params))];
    if (workers > 0) {
      // Start the threads outside the clock (a run has them running when it resamples).
      await (await engine.poolScorer(params))?.dispose();
      runs.push(await score(`${workers} workers, dense decode`, async () => (await engine.poolScorer(params, { sparseUpTo: -1 }))!));
      runs.push(await score(`${workers} workers (as a run)`, async () => (await engine.poolScorer(params))!));
    }
    const ref = runs[0]!.out;
    const drawn = (o: typeof ref) => JSON.stringify(o.draw.rows.map((r) => r.rowId));
    const same = runs.every(({ out }) => drawn(out) === drawn(ref));
    const maxLossDiff = Math.max(...runs.map(({ out }) => Math.abs(out.pool.loss.mean - ref.pool.loss.mean) / ref.pool.loss.mean));
    return {
      config: shape.name,
      d,
      m,
      rows,
      dead,
      timings: runs.map(({ where, seconds }) => ({ where, seconds, rowsPerSecond: rows / seconds, gflopPerSecond: (4 * d * m * rows) / seconds / 1e9 })),
      sameDraws: same,
      meanLossRelativeDiff: maxLossDiff,
      l0,
    };
  } finally {
    await engine.dispose();
    params.dispose();
  }
}

/** The result as lines for a person. */
export function formatResampleScore(r: ResampleScoreResult): string {
  const base = r.timings[0]!.seconds;
  const lines = [`resampling's pool scoring, config ${r.config} (d ${r.d}, m ${r.m}, L0 ${r.l0.toFixed(1)}), ${r.rows} rows, ${r.dead} dead features:`];
  for (const t of r.timings) {
    lines.push(`  ${t.where.padEnd(28)} ${t.seconds.toFixed(1).padStart(7)} s  ${Math.round(t.rowsPerSecond).toString().padStart(6)} rows/s  ${t.gflopPerSecond.toFixed(1).padStart(5)} GFLOP/s  ${(base / t.seconds).toFixed(2)}x`);
  }
  lines.push(`  same draws in every place: ${r.sameDraws ? 'yes' : 'NO'}; pool mean loss within ${r.meanLossRelativeDiff.toExponential(1)} (relative) of one thread's`);
  return lines.join('\n');
}
