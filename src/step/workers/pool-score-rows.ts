import * as tf from '../../backend/tfjs.js';
import { scoreRowsGiven } from '../../sae/row-scores.js';
import { encode } from '../../sae/forward.js';
import { hostView } from '../kernels/host-io.js';
import { activeEntries, SPARSE_DECODE_MAX_DENSITY, sparseDecodeRows } from './sparse-decode-rows.js';
import type { Activation } from '../../sae/activation.js';
import type { SaeTensors } from '../../sae/forward.js';
import { rowRange } from './row-reduce.js';

/**
 * Where one resampling event's buffer holds what the workers read, as float32 offsets: the SAE
 * as it is scored (W_enc [d, m], b_enc [m], W_dec [m, d], b_dec [d]) and the chunk of pool rows
 * x [chunkRows, d] that the main thread writes before each 'score'.
 */
export interface PoolScoreLayout {
  d: number;
  m: number;
  chunkRows: number;
  W_enc: number;
  b_enc: number;
  W_dec: number;
  b_dec: number;
  x: number;
  /** float32 entries of the whole buffer. */
  length: number;
}

/** The layout of a scoring buffer for chunks of up to chunkRows rows. */
export function poolScoreLayout(d: number, m: number, chunkRows: number): PoolScoreLayout {
  const W_enc = 0;
  const b_enc = W_enc + d * m;
  const W_dec = b_enc + m;
  const b_dec = W_dec + m * d;
  const x = b_dec + d;
  return { d, m, chunkRows, W_enc, b_enc, W_dec, b_dec, x, length: x + chunkRows * d };
}

/**
 * A worker's part of scoring resampling's pool: the rows of each chunk in its row range
 * (row-reduce.ts rowRange), every feature. The encoder is the one-thread scoring's
 * (sae/row-scores.ts); the decoder sums only the active features where f is sparse, so the
 * losses agree with one thread's to float32 rounding (bit for bit where the dense product runs).
 * The SAE's tensors are made once per event, from the buffer, and dropped by dispose().
 */
export class PoolScoreRows {
  private readonly sae: SaeTensors;
  private readonly x: Float32Array;
  /** W_dec [m, d] and b_dec [d] on the host (the buffer), for the sparse decode. */
  private readonly W_dec: Float32Array;
  private readonly b_dec: Float32Array;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly layout: PoolScoreLayout,
    activation: Activation | undefined,
    private readonly workers: number,
    private readonly slice: number,
    /** Largest fraction of active entries decoded sparse (SPARSE_DECODE_MAX_DENSITY; below 0: always dense). */
    private readonly sparseUpTo = SPARSE_DECODE_MAX_DENSITY,
  ) {
    const { d, m } = layout;
    const at = (offset: number, n: number) => new Float32Array(buffer, offset * 4, n);
    this.sae = {
      W_enc: tf.tensor2d(at(layout.W_enc, d * m), [d, m]),
      b_enc: tf.tensor1d(at(layout.b_enc, m)),
      W_dec: tf.tensor2d(at(layout.W_dec, m * d), [m, d]),
      b_dec: tf.tensor1d(at(layout.b_dec, d)),
      ...(activation ? { activation } : {}),
    };
    this.x = at(layout.x, layout.chunkRows * d);
    this.W_dec = at(layout.W_dec, m * d);
    this.b_dec = at(layout.b_dec, d);
  }

  /**
   * The packed scores (ScoredRows) of this worker's rows of a chunk of `rows`. f comes from the
   * reference's encode (tfjs, the activation's thresholds included); x_hat = f W_dec + b_dec is
   * summed over each row's active features only on the host (sparseDecodeRows) where f is sparse,
   * as after the first steps of a run, else by the reference's dense product.
   */
  score(rows: number): { rows: number; packed: Float32Array } {
    const { d, m } = this.layout;
    const [r0, r1] = rowRange(rows, this.workers, this.slice);
    // An empty range (fewer rows than workers): nothing scored, zero column sums.
    if (r1 === r0) return { rows: 0, packed: new Float32Array(d) };
    const c = r1 - r0;
    const xs = this.x.subarray(r0 * d, r1 * d);
    const x = tf.tensor2d(xs, [c, d]);
    const f = encode(this.sae, x);
    try {
      // The view is read before the next tfjs allocation (hostView).
      const fv = hostView(f);
      if (activeEntries(fv, c * m) <= c * m * this.sparseUpTo) return { rows: c, packed: sparseDecodeRows(xs, fv, c, d, m, this.W_dec, this.b_dec) };
      const packed = tf.tidy(() => scoreRowsGiven(this.sae, x, f));
      try {
        return { rows: c, packed: packed.dataSync() as Float32Array };
      } finally {
        packed.dispose();
      }
    } finally {
      tf.dispose([x, f]);
    }
  }

  dispose(): void {
    tf.dispose([this.sae.W_enc, this.sae.b_enc, this.sae.W_dec, this.sae.b_dec]);
  }
}
