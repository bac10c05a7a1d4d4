import * as tf from '../backend/tfjs.js';

/**
 * The encoder's nonlinearity at inference, as a trained dictionary carries it:
 *   relu      f = ReLU(pre)                                   (Towards Monosemanticity)
 *   topk      f = pre on the k largest entries of each row, if > 0; else 0   (Gao et al. 2024)
 *   jumprelu  f = pre * H(pre - threshold_i)                  (Rajamanoharan et al. 2024; a
 *             BatchTopK dictionary is used this way, with its running-average threshold)
 * Absent on a dictionary means relu (every dictionary written before architectures existed).
 */
export type Activation = { kind: 'relu' } | { kind: 'topk'; k: number } | { kind: 'jumprelu'; threshold: Float32Array };

/**
 * The selection a training step makes: relu, topk per row, or batchtopk (the k x rows largest
 * entries of the whole batch, Bussmann et al. 2024).
 */
export type StepActivation = { kind: 'relu' } | { kind: 'topk'; k: number } | { kind: 'batchtopk'; k: number };

export const RELU: Activation = { kind: 'relu' };

/**
 * Where an entry is active: pre > threshold, the threshold never below 0 (every activation here
 * is a ReLU first). For topk the row's threshold is its (k+1)-th largest entry, the largest one
 * left out (so ties at the boundary keep fewer than k, never more); for batchtopk the batch's
 * (k B + 1)-th largest. Returns a tensor broadcastable to pre [B, m]: a scalar, [B, 1] or [m].
 */
export function thresholdOf(pre: tf.Tensor2D, a: Activation | StepActivation): tf.Tensor {
  return tf.tidy(() => {
    const [B, m] = pre.shape;
    switch (a.kind) {
      case 'relu':
        return tf.scalar(0);
      case 'topk':
        if (a.k >= m) return tf.scalar(0);
        return tf.relu(tf.slice(tf.topk(pre, a.k + 1).values, [0, a.k], [B, 1]));
      case 'batchtopk': {
        const n = a.k * B;
        if (n >= B * m) return tf.scalar(0);
        return tf.relu(tf.reshape(tf.slice(tf.topk(tf.reshape(pre, [1, B * m]), n + 1).values, [0, n], [1, 1]), []));
      }
      case 'jumprelu':
        return tf.relu(tf.tensor1d(a.threshold));
    }
  });
}

/** f = pre where pre > its threshold (thresholdOf), else 0.  pre [B, m] -> [B, m] */
export function activate(pre: tf.Tensor2D, a: Activation | StepActivation): tf.Tensor2D {
  if (a.kind === 'relu') return tf.relu(pre);
  return tf.tidy(() => {
    const t = thresholdOf(pre, a);
    return tf.where(tf.greater(pre, t), pre, tf.zerosLike(pre)) as tf.Tensor2D;
  });
}

/**
 * The same thresholds on the host, one per row, for the sparse step's scan (loops.ts scanActive):
 * an entry of row b is active iff pre > out[b]. pre [B, m] row-major (any backing store); out [B].
 */
export function hostRowThresholds(pre: Float32Array, B: number, m: number, a: StepActivation, out: Float32Array): Float32Array {
  if (a.kind === 'relu' || a.k >= m) return out.fill(0, 0, B);
  if (a.kind === 'topk') {
    const row = new Float32Array(m);
    for (let b = 0; b < B; b++) {
      row.set(pre.subarray(b * m, (b + 1) * m));
      out[b] = Math.max(0, kthLargest(row, a.k));
    }
    return out;
  }
  const n = a.k * B;
  const all = Float32Array.from(pre.subarray(0, B * m));
  return out.fill(Math.max(0, kthLargest(all, n)), 0, B);
}

/**
 * The (k+1)-th largest value of v (0-based rank k in descending order), by quickselect; reorders v.
 * k < v.length.
 */
export function kthLargest(v: Float32Array, k: number): number {
  let lo = 0;
  let hi = v.length - 1;
  while (lo < hi) {
    const pivot = v[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (v[i]! > pivot) i++;
      while (v[j]! < pivot) j--;
      if (i <= j) {
        const t = v[i]!;
        v[i] = v[j]!;
        v[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return v[k]!;
  }
  return v[k]!;
}
