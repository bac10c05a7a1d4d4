import { scoreChunkRows, type ScoredRows } from '../../sae/row-scores.js';
import type { SaeParams } from '../../sae/params.js';
import { poolScoreLayout } from './pool-score-rows.js';
import type { WorkerPool } from './pool.js';

/**
 * resample/row-scorer.ts' RowScorer on the step's workers for one resampling event (the same
 * shape, declared here: step/ does not import resample/); dispose() frees what they made.
 */
export interface WorkersRowScorer {
  readonly chunkRows: number;
  readonly where: string;
  /** xs [rows, d], rows <= chunkRows: each worker's range of the rows, in order. */
  score(xs: Float32Array, rows: number): Promise<ScoredRows[]>;
  dispose(): Promise<void>;
}

export interface PoolScoreOptions {
  /** Largest fraction of a worker's f entries that are active for which it decodes sparse (default SPARSE_DECODE_MAX_DENSITY; below 0: always the dense product). */
  sparseUpTo?: number;
}

/**
 * Scoring of resampling's pool in the step's own shared memory, for ReLU and JumpReLU SAEs on
 * workers with the SIMD product: the SAE is the one the state arrays hold (the caller has put it
 * there), each chunk of up to B rows goes into the step's x, and the workers run the step's
 * forward pass on it (centre, then each its features' encoder product and partial
 * reconstruction: pool-score-slice.ts), then each scores its range of the rows from all the
 * partials. No copy of the weights and no tfjs product: at config B (65,536 rows, 2 workers) one
 * event takes 1.8x less time than workersRowScorer's (13.2 s against 24.0 s, BENCHMARKS.md).
 * threshold [m]: JumpReLU's thresholds as the reference encode applies them (absent: ReLU).
 */
export async function stepMemoryRowScorer(pool: WorkerPool, x: Float32Array, B: number, d: number, threshold: Float32Array | undefined, opts: PoolScoreOptions = {}): Promise<WorkersRowScorer> {
  await pool.all(() => ({ kind: 'slice-score-begin', ...(threshold ? { threshold } : {}), ...(opts.sparseUpTo !== undefined ? { sparseUpTo: opts.sparseUpTo } : {}) }));
  return {
    chunkRows: B,
    where: `${pool.size} workers`,
    async score(xs, rows) {
      x.set(xs.subarray(0, rows * d));
      await pool.all(() => ({ kind: 'centre', rows }));
      await pool.all(() => ({ kind: 'slice-score-encode', rows }));
      const replies = await pool.all(() => ({ kind: 'slice-score-rows', rows }));
      return replies.map((r) => ({ rows: r.rows, packed: r.packed }));
    },
    async dispose() {},
  };
}

/**
 * Scoring of resampling's pool on the step's worker threads (each over a range of every
 * chunk's rows, pool-score-rows.ts). The SAE is copied from params (the tfjs variables, which
 * the caller has brought up to date with the workers' state) into one shared buffer with room
 * for a chunk of rows; each worker makes its tensors from it once.
 */
export async function workersRowScorer(pool: WorkerPool, params: SaeParams, opts: PoolScoreOptions = {}): Promise<WorkersRowScorer> {
  const { d, m } = params;
  const workers = pool.size;
  // Each worker's rows of a chunk: the workers' f together near what one thread holds.
  const layout = poolScoreLayout(d, m, workers * scoreChunkRows(m * workers));
  const buffer = new SharedArrayBuffer(layout.length * 4);
  const all = new Float32Array(buffer);
  all.set(params.W_enc.dataSync() as Float32Array, layout.W_enc);
  all.set(params.b_enc.dataSync() as Float32Array, layout.b_enc);
  all.set(params.W_dec.dataSync() as Float32Array, layout.W_dec);
  all.set(params.b_dec.dataSync() as Float32Array, layout.b_dec);
  const x = all.subarray(layout.x);
  const activation = params.activation.kind === 'relu' ? undefined : params.activation;
  await pool.all(() => ({ kind: 'score-load', buffer, layout, ...(activation ? { activation } : {}), ...(opts.sparseUpTo !== undefined ? { sparseUpTo: opts.sparseUpTo } : {}) }));
  return {
    chunkRows: layout.chunkRows,
    where: `${workers} workers`,
    async score(xs, rows) {
      x.set(xs.subarray(0, rows * d));
      const replies = await pool.all(() => ({ kind: 'score', rows }));
      return replies.map((r) => ({ rows: r.rows, packed: r.packed }));
    },
    async dispose() {
      await pool.all(() => ({ kind: 'score-end' }));
    },
  };
}
