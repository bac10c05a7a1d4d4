/** Shapes of one causal grouped-query attention call. */
export interface AttentionShape {
  batch: number;
  /** New (query) positions per sequence. */
  seq: number;
  /** Positions already in the KV cache before the new ones (0 without a cache). */
  past: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
}

/**
 * Causal grouped-query self-attention on the host, for the no-gradient forward path: the masked
 * upper triangle is skipped rather than computed and masked, and no [seq, keys] score matrix is
 * ever materialised (one row of scores at a time). Numerically the tfjs path's softmax(q k^T /
 * sqrt(headDim) + mask) v: max-subtracted exponentials, normalised after the weighted sum.
 *
 *   q   [batch, seq, nHeads * headDim]              rotated queries, token-major
 *   k,v [batch, nKvHeads, past + seq, headDim]      rotated keys and values, head-major
 *   out [batch, seq, nHeads * headDim]              token-major, ready for the output projection
 *
 * Query head h reads key/value head floor(h / (nHeads / nKvHeads)), as llama.cpp does.
 */
export function causalAttention(q: Float32Array, k: Float32Array, v: Float32Array, s: AttentionShape, out: Float32Array = new Float32Array(s.batch * s.seq * s.nHeads * s.headDim)): Float32Array {
  const { batch, seq, past, nHeads, nKvHeads, headDim: hd } = s;
  const keys = past + seq;
  const group = nHeads / nKvHeads;
  const qDim = nHeads * hd;
  const scale = 1 / Math.sqrt(hd);
  const scores = new Float64Array(keys);
  const acc = new Float64Array(hd);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < nHeads; h++) {
      const kvBase = (b * nKvHeads + Math.floor(h / group)) * keys * hd;
      for (let i = 0; i < seq; i++) {
        const qo = (b * seq + i) * qDim + h * hd;
        const seen = past + i + 1;
        let max = -Infinity;
        for (let j = 0; j < seen; j++) {
          const ko = kvBase + j * hd;
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += q[qo + d]! * k[ko + d]!;
          dot *= scale;
          scores[j] = dot;
          if (dot > max) max = dot;
        }
        acc.fill(0);
        let sum = 0;
        for (let j = 0; j < seen; j++) {
          const p = Math.exp(scores[j]! - max);
          sum += p;
          const vo = kvBase + j * hd;
          for (let d = 0; d < hd; d++) acc[d] += p * v[vo + d]!;
        }
        for (let d = 0; d < hd; d++) out[qo + d] = acc[d]! / sum;
      }
    }
  }
  return out;
}
