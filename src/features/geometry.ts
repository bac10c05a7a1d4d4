import * as tf from '../backend/tfjs.js';
import type { SaeTensors } from '../sae/forward.js';
import { hostProductsApply } from '../eval/host-forward.js';
import { nearestUnitRowsHost } from './nearest-host.js';

/** Per-feature geometry of the dictionary. */
export interface DictionaryGeometry {
  /** ||W_dec[i, :]|| [m] */
  decoderNorm: Float32Array;
  /** ||W_enc[:, i]|| [m] */
  encoderNorm: Float32Array;
  /** cos(W_enc[:, i], W_dec[i, :]) [m]; 0 when either is zero. */
  encoderDecoderCos: Float32Array;
  /** Index of the most similar other decoder row [m]; -1 when m = 1. */
  nearestIndex: Int32Array;
  /** Cosine to that row [m] (NaN when m = 1); near 1 flags a duplicate feature. */
  nearestCos: Float32Array;
}

const EPS = 1e-12;

/** Decoder and encoder norms and the encoder/decoder cosine of every feature. */
export async function featureNorms(
  sae: SaeTensors,
): Promise<Pick<DictionaryGeometry, 'decoderNorm' | 'encoderNorm' | 'encoderDecoderCos'>> {
  const [dec, enc, cos] = tf.tidy(() => {
    const decNorm = tf.sqrt(tf.sum(tf.square(sae.W_dec), 1));
    const encNorm = tf.sqrt(tf.sum(tf.square(sae.W_enc), 0));
    const dot = tf.sum(tf.mul(tf.transpose(sae.W_enc), sae.W_dec), 1);
    const c = tf.div(dot, tf.maximum(tf.mul(decNorm, encNorm), EPS));
    return [decNorm, encNorm, c];
  });
  try {
    return {
      decoderNorm: (await dec.data()) as Float32Array,
      encoderNorm: (await enc.data()) as Float32Array,
      encoderDecoderCos: (await cos.data()) as Float32Array,
    };
  } finally {
    tf.dispose([dec, enc, cos]);
  }
}

/**
 * For every decoder row, the most similar other row: max over j != i of cos(W_dec[i], W_dec[j]).
 * On the wasm backend the products run on the host (nearest-host.ts: half of them, same result to
 * the bit); elsewhere (`host: false`, WebGPU, tfjs-node, the cpu backend, or no WebAssembly SIMD) in tfjs, rows in
 * chunks so that only [chunkRows, m] similarities exist at a time, the transposed unit dictionary
 * made once (transposeB in matMul is slow on wasm).
 * W_dec [m, d]
 */
export async function nearestDecoderNeighbours(
  W_dec: tf.Tensor2D,
  opts: { maxChunkElements?: number; host?: boolean } = {},
): Promise<Pick<DictionaryGeometry, 'nearestIndex' | 'nearestCos'>> {
  const [m, d] = W_dec.shape;
  const nearestIndex = new Int32Array(m).fill(-1);
  const nearestCos = new Float32Array(m).fill(NaN);
  if (m < 2) return { nearestIndex, nearestCos };
  const unitOf = () =>
    tf.tidy(() => tf.div(W_dec, tf.maximum(tf.sqrt(tf.sum(tf.square(W_dec), 1, true)), EPS)) as tf.Tensor2D);
  if (opts.host ?? hostProductsApply()) {
    const u = unitOf();
    const host = nearestUnitRowsHost((await u.data()) as Float32Array, m, d);
    u.dispose();
    if (host) return host;
  }
  const chunk = Math.max(1, Math.min(m, Math.floor((opts.maxChunkElements ?? 1 << 22) / m)));
  const [unit, unitT] = tf.tidy(() => {
    const u = unitOf();
    return [u, tf.transpose(u) as tf.Tensor2D];
  });
  try {
    for (let start = 0; start < m; start += chunk) {
      const rows = Math.min(chunk, m - start);
      const [best, arg] = tf.tidy(() => {
        const sims = tf.matMul(tf.slice(unit, [start, 0], [rows, -1]), unitT);
        // Push each row's self-similarity (1) below any real cosine (>= -1) before the max.
        // (Not tf.oneHot: on the wasm backend it ignores onValue for float32 output.)
        const self = tf.equal(tf.range(start, start + rows, 1, 'int32').reshape([rows, 1]), tf.range(0, m, 1, 'int32').reshape([1, m]));
        const masked = tf.sub(sims, tf.mul(tf.cast(self, 'float32'), 3));
        return [tf.max(masked, 1), tf.argMax(masked, 1)];
      });
      const [b, a] = await Promise.all([best.data(), arg.data()]);
      tf.dispose([best, arg]);
      nearestCos.set(b as Float32Array, start);
      nearestIndex.set(a as Int32Array, start);
    }
  } finally {
    tf.dispose([unit, unitT]);
  }
  return { nearestIndex, nearestCos };
}

/** All of the above. */
export async function dictionaryGeometry(sae: SaeTensors): Promise<DictionaryGeometry> {
  return { ...(await featureNorms(sae)), ...(await nearestDecoderNeighbours(sae.W_dec)) };
}
