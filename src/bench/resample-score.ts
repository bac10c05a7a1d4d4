import { initBackend } from '../backend/select.js';
import type { Batch } from '../data/types.js';
import { PoolScorer } from '../resample/score.js';
import { tfjsRowScorer, type RowScorer } from '../resample/score-rows.js';
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
  /** Whether every place gave the one-thread scoring's draws (row ids) and pool loss statistics exactly. */
  sameDraws: boolean;
}

/**
 * One resampling event's scoring (resample/score.ts PoolScorer over `rows` pool rows, in the
 * pool's batches of shape.batch rows) with a trained-regime SAE of the shape: with tfjs on this
 * thread, then on a step engine's `workers` threads (started before the clock, as in a run,
 * where they are running already). `npm run bench -- --resample-scoring`.
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
  const engine = createStepEngine({ kind: 'auto', workers, simd: true, batchSize: batch, d, m });
  try {
    const score = async (make: () => Promise<RowScorer & { dispose?: () => Promise<void> }>) => {
      const t0 = performance.now();
      const scorer = await make();
      const ps = new PoolScorer(params, dead, false, new Rng(seed).fork('draw'), scorer);
      for (const b of pool) await ps.add(b);
      const out = ps.finish();
      await scorer.dispose?.();
      const seconds = (performance.now() - t0) / 1000;
      log(`  ${scorer.where}: ${seconds.toFixed(1)} s`);
      return { where: scorer.where, seconds, out };
    };
    log(`resample scoring: config ${shape.name} (d ${d}, m ${m}), ${rows} pool rows, ${dead} dead features`);
    const runs = [await score(async () => tfjsRowScorer(params))];
    if (workers > 1) {
      // Start the threads outside the clock (a run has them running when it resamples).
      await (await engine.poolScorer(params))?.dispose();
      runs.push(await score(async () => (await engine.poolScorer(params))!));
    }
    const ref = runs[0]!.out;
    const same = runs.every(({ out }) => JSON.stringify(out.draw.rows.map((r) => r.rowId)) === JSON.stringify(ref.draw.rows.map((r) => r.rowId)) && JSON.stringify(out.pool.loss) === JSON.stringify(ref.pool.loss));
    return {
      config: shape.name,
      d,
      m,
      rows,
      dead,
      timings: runs.map(({ where, seconds }) => ({ where, seconds, rowsPerSecond: rows / seconds, gflopPerSecond: (4 * d * m * rows) / seconds / 1e9 })),
      sameDraws: same,
    };
  } finally {
    await engine.dispose();
    params.dispose();
  }
}

/** The result as lines for a person. */
export function formatResampleScore(r: ResampleScoreResult): string {
  const base = r.timings[0]!.seconds;
  const lines = [`resampling's pool scoring, config ${r.config} (d ${r.d}, m ${r.m}), ${r.rows} rows, ${r.dead} dead features:`];
  for (const t of r.timings) {
    lines.push(`  ${t.where.padEnd(12)} ${t.seconds.toFixed(1).padStart(7)} s  ${Math.round(t.rowsPerSecond).toString().padStart(6)} rows/s  ${t.gflopPerSecond.toFixed(1).padStart(5)} GFLOP/s  ${(base / t.seconds).toFixed(2)}x`);
  }
  lines.push(`  same draws and pool losses in every place: ${r.sameDraws ? 'yes' : 'NO'}`);
  return lines.join('\n');
}
