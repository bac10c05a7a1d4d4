import * as tf from '../backend/tfjs.js';
import type { Batch } from '../data/types.js';
import { InternalError } from '../errors.js';
import type { SaeParams } from '../sae/params.js';
import type { Rng } from '../util/rng.js';
import type { AdamState } from '../step/adam.js';
import type { DrawMode, DrawnRow } from './draw.js';
import { PoolScorer, lossStats, type LossStats, type PoolStats } from './score.js';
import { tfjsRowScorer, type RowScorer } from './row-scorer.js';

export interface ResampleOptions {
  /** Encoder column norm as a multiple of the mean alive encoder-column norm (paper: 0.2). */
  encoderScale: number;
  /** Subtract b_dec from the drawn input before normalising it. */
  centre: boolean;
  /** Rows per scoring chunk on this thread (default: sized so f [chunk, m] is about 64 MB). */
  chunkRows?: number;
  /** Where the pool is scored (default: tfjs on this thread; the loop passes the step's workers where it has them). */
  scorer?: RowScorer;
}

/** What one resampling did, for the event record. */
export interface ResampleResult {
  /** Features rewritten (ascending); empty if nothing could be drawn. */
  indices: Int32Array;
  /** The input drawn for each of `indices`, aligned with it. */
  draws: DrawnRow[];
  mode: DrawMode;
  /** The scored pool (null when no feature was dead, so nothing was scored). */
  pool: PoolStats | null;
  drawnLoss: LossStats | null;
  /** Mean L2 norm of the alive features' encoder columns (1 if none is alive). */
  encoderNorm: number;
  aliveFeatures: number;
  /** Where the pool was scored (RowScorer.where; null when nothing was scored). */
  scoredOn: string | null;
}

/**
 * Resample dead features (Towards Monosemanticity, appendix "Neuron Resampling"), steps 2-6:
 * score `pool`, draw one input per dead feature with probability proportional to loss^2, set the
 * decoder row to the unit input direction, the encoder column to that direction times
 * encoderScale x the mean alive encoder-column norm, the encoder bias to 0, and zero the Adam
 * moments of exactly those entries. dead: ascending feature indices.
 */
export async function resampleDead(
  params: SaeParams,
  adam: AdamState,
  dead: Int32Array,
  pool: Batch,
  rng: Rng,
  opts: ResampleOptions,
): Promise<ResampleResult> {
  return resampleDeadFrom(params, adam, dead, [pool], rng, opts);
}

/** resampleDead over a pool streamed in batches (only dead.length inputs are held in memory). */
export async function resampleDeadFrom(
  params: SaeParams,
  adam: AdamState,
  dead: Int32Array,
  pool: AsyncIterable<Batch> | Iterable<Batch>,
  rng: Rng,
  opts: ResampleOptions,
): Promise<ResampleResult> {
  checkDead(dead, params.m);
  if (dead.length === 0) return nothingDead(params.m);
  const scorer = new PoolScorer(params, dead.length, opts.centre, rng, opts.scorer ?? tfjsRowScorer(params, opts.chunkRows));
  for await (const batch of pool) await scorer.add(batch);
  return finishResample(params, adam, dead, scorer, opts);
}

async function finishResample(
  params: SaeParams,
  adam: AdamState,
  dead: Int32Array,
  scorer: PoolScorer,
  opts: ResampleOptions,
): Promise<ResampleResult> {
  const { draw, pool } = scorer.finish();
  const indices = dead.slice(0, draw.rows.length);
  const bDec = opts.centre ? ((await params.b_dec.data()) as Float32Array) : null;
  const dirs = unitDirections(draw.x, params.d, bDec);
  const { encoderNorm, aliveFeatures } = await applyResample(params, adam, indices, dirs, opts.encoderScale, dead);
  return {
    indices,
    draws: draw.rows,
    mode: draw.mode,
    pool,
    drawnLoss: draw.rows.length ? lossStats(draw.rows.map((r) => r.loss)) : null,
    encoderNorm,
    aliveFeatures,
    scoredOn: scorer.where,
  };
}

/** Rows of x [k, d] (minus b_dec when given) scaled to unit L2 norm, the norm taken in float64. */
export function unitDirections(x: Float32Array, d: number, bDec: Float32Array | null): Float32Array {
  const out = new Float32Array(x.length);
  const v = new Float64Array(d);
  for (let r = 0; r < x.length / d; r++) {
    let ss = 0;
    for (let j = 0; j < d; j++) {
      v[j] = x[r * d + j]! - (bDec ? bDec[j]! : 0);
      ss += v[j]! * v[j]!;
    }
    const norm = Math.sqrt(ss);
    for (let j = 0; j < d; j++) out[r * d + j] = v[j]! / norm;
  }
  return out;
}

/**
 * Steps 4-6 for given unit directions dirs [k, d] (row r for feature indices[r]). The alive set
 * is every feature not in `dead` (default: indices). Only the rows / columns / entries of
 * `indices` change, in the parameters and in both Adam moments; the rest is untouched bit for bit
 * (a select, not arithmetic masking, which would turn -0 into +0).
 */
export async function applyResample(
  params: SaeParams,
  adam: AdamState,
  indices: Int32Array,
  dirs: Float32Array,
  encoderScale: number,
  dead: Int32Array = indices,
): Promise<{ encoderNorm: number; aliveFeatures: number }> {
  const { d, m } = params;
  const k = indices.length;
  if (dirs.length !== k * d) throw new InternalError(`applyResample: ${dirs.length / d} directions for ${k} features`);
  // Column norms as ones [1, d] x W_enc^2: a reduction over axis 0 would transpose [d, m] first.
  const colNorms = tf.tidy(() => tf.sqrt(tf.matMul(tf.ones([1, d]), tf.square(params.W_enc))));
  let norms: Float32Array;
  try {
    norms = (await colNorms.data()) as Float32Array;
  } finally {
    colNorms.dispose();
  }
  const isDead = new Uint8Array(m);
  for (const i of dead) isDead[i] = 1;
  let sum = 0;
  let alive = 0;
  for (let i = 0; i < m; i++) {
    if (!isDead[i]) {
      sum += norms[i]!;
      alive++;
    }
  }
  // With no alive feature there is no scale to copy; the reference trainer uses 1.
  const encoderNorm = alive > 0 ? sum / alive : 1;
  if (k === 0) return { encoderNorm, aliveFeatures: alive };
  const scale = encoderScale * encoderNorm;
  // New encoder columns, laid out [d, k] so a gather along axis 1 places them.
  const encT = new Float32Array(d * k);
  for (let r = 0; r < k; r++) for (let j = 0; j < d; j++) encT[j * k + r] = dirs[r * d + j]! * scale;
  // Full-shape masks built on the host: tf.where with a broadcast mask tiles it on the device,
  // about 8x slower on wasm than a select over equal shapes.
  const slot = new Int32Array(m);
  const entries = new Uint8Array(m);
  const rowMask = new Uint8Array(m * d);
  const colMask = new Uint8Array(d * m);
  indices.forEach((f, r) => {
    slot[f] = r;
    entries[f] = 1;
    rowMask.fill(1, f * d, (f + 1) * d);
    for (let j = 0; j < d; j++) colMask[j * m + f] = 1;
  });

  tf.tidy(() => {
    const rows = tf.tensor(rowMask, [m, d], 'bool');
    const cols = tf.tensor(colMask, [d, m], 'bool');
    const ents = tf.tensor(entries, [m], 'bool');
    const slots = tf.tensor1d(slot, 'int32');
    const put = (v: tf.Variable, where: tf.Tensor, value: tf.Tensor) => v.assign(tf.where(where, value, v as tf.Tensor));
    put(params.W_dec, rows, tf.gather(tf.tensor2d(dirs, [k, d]), slots, 0));
    put(params.W_enc, cols, tf.gather(tf.tensor2d(encT, [d, k]), slots, 1));
    const zeroRows = tf.zeros([m, d]);
    const zeroCols = tf.zeros([d, m]);
    const zeroEnts = tf.zeros([m]);
    put(params.b_enc, ents, zeroEnts);
    for (const moments of [adam.m, adam.v]) {
      put(moments.W_dec, rows, zeroRows);
      put(moments.W_enc, cols, zeroCols);
      put(moments.b_enc, ents, zeroEnts);
      // jumprelu: a resampled feature keeps its threshold; its moments start afresh like the rest.
      if (moments.log_threshold) put(moments.log_threshold, ents, zeroEnts);
    }
  });
  return { encoderNorm, aliveFeatures: alive };
}

function checkDead(dead: Int32Array, m: number): void {
  for (let i = 0; i < dead.length; i++) {
    if (dead[i]! < 0 || dead[i]! >= m || (i > 0 && dead[i]! <= dead[i - 1]!)) {
      throw new InternalError(`resampleDead: dead indices must be ascending, distinct and in [0, ${m}); entry ${i} is ${dead[i]}`);
    }
  }
}

function nothingDead(m: number): ResampleResult {
  return { indices: new Int32Array(0), draws: [], mode: 'none', pool: null, drawnLoss: null, encoderNorm: NaN, aliveFeatures: m, scoredOn: null };
}
