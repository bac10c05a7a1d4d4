import * as tf from '../../backend/tfjs.js';
import { hostView } from '../kernels/host-io.js';

/**
 * Encoder weights larger than this are multiplied in column blocks: XNNPACK's product on a
 * [d, mk] right operand of 19 MB (config C's slice, d = 768) ran at 2.1 s, in 1,024-column
 * blocks at 1.3 s (fresh weights each call, one thread); at 8 MB (config B) and below blocks
 * made no difference.
 */
export const BLOCK_FROM_BYTES = 12 * 2 ** 20;
/** Bytes of one column block of the weights. */
export const BLOCK_BYTES = 4 * 2 ** 20;

/** Columns per block of the encoder product for a [d, mk] weight slice (mk: no blocking). */
export function columnBlock(d: number, mk: number): number {
  if (d * mk * 4 <= BLOCK_FROM_BYTES) return mk;
  return Math.min(mk, Math.max(64, Math.floor(BLOCK_BYTES / (4 * d) / 64) * 64));
}

/**
 * pre = xc W[:, i0:i0+mk] + b[i0:i0+mk] for the rows of xc [rows, d], W [d, m] row-major on the
 * host, as one [rows, mk] row-major array for `use` (valid only during the call: a view of the
 * backend's memory, or `scratch` when the product runs in column blocks of `block` columns).
 */
export function withEncoderPre<T>(
  xc: Float32Array,
  rows: number,
  d: number,
  W: Float32Array,
  m: number,
  b: Float32Array,
  i0: number,
  mk: number,
  scratch: () => Float32Array,
  use: (pre: Float32Array) => T,
  block = columnBlock(d, mk),
): T {
  const x = tf.tensor2d(xc.subarray(0, rows * d), [rows, d]);
  try {
    if (block === mk) {
      const pre = tf.tidy(() => tf.fused.matMul({ a: x, b: gather(W, m, d, i0, mk), bias: tf.tensor1d(b.subarray(i0, i0 + mk)) }));
      try {
        return use(hostView(pre));
      } finally {
        pre.dispose();
      }
    }
    const out = scratch();
    for (let c0 = 0; c0 < mk; c0 += block) {
      const k = Math.min(block, mk - c0);
      const part = tf.tidy(() =>
        tf.fused.matMul({ a: x, b: gather(W, m, d, i0 + c0, k), bias: tf.tensor1d(b.subarray(i0 + c0, i0 + c0 + k)) }),
      );
      const v = hostView(part);
      for (let r = 0; r < rows; r++) out.set(v.subarray(r * k, (r + 1) * k), r * mk + c0);
      part.dispose();
    }
    return use(out);
  } finally {
    x.dispose();
  }
}

/** W[:, c0:c0+k] as a [d, k] tensor. */
function gather(W: Float32Array, m: number, d: number, c0: number, k: number): tf.Tensor2D {
  const w = new Float32Array(d * k);
  for (let j = 0; j < d; j++) w.set(W.subarray(j * m + c0, j * m + c0 + k), j * k);
  return tf.tensor2d(w, [d, k]);
}
