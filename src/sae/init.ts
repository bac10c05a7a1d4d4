import type { Rng } from '../util/rng.js';
import type { SaeWeights } from './params.js';

/** Column mean of rows x [n, d] (float64 accumulation). */
export function columnMean(x: Float32Array, n: number, d: number): Float32Array {
  const acc = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) acc[j]! += x[r * d + j]!;
  return Float32Array.from(acc, (v) => v / Math.max(1, n));
}

/**
 * Geometric median of rows x [n, d] by Weiszfeld's algorithm (as SAELens and dictionary_learning
 * initialise b_dec): the point minimising the sum of Euclidean distances. Starts from the mean.
 */
export function geometricMedian(x: Float32Array, n: number, d: number, maxIter = 100, tol = 1e-7): Float32Array {
  let y = Float64Array.from(columnMean(x, n, d));
  const next = new Float64Array(d);
  for (let it = 0; it < maxIter; it++) {
    next.fill(0);
    let wsum = 0;
    for (let r = 0; r < n; r++) {
      let dist = 0;
      for (let j = 0; j < d; j++) dist += (x[r * d + j]! - y[j]!) ** 2;
      const w = 1 / Math.max(Math.sqrt(dist), 1e-12);
      wsum += w;
      for (let j = 0; j < d; j++) next[j]! += w * x[r * d + j]!;
    }
    let move = 0;
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = next[j]! / wsum;
      move += (v - y[j]!) ** 2;
      norm += v * v;
      next[j] = v;
    }
    y = Float64Array.from(next);
    if (Math.sqrt(move) <= tol * Math.max(1, Math.sqrt(norm))) break;
  }
  return Float32Array.from(y);
}

/**
 * Scale s with E||s x|| = sqrt(d) on the sample (Anthropic, April 2024 update: "we normalise the
 * dataset so that each activation vector has average norm sqrt(d)").
 */
export function expectedNormScale(x: Float32Array, n: number, d: number): number {
  const norm = meanNorm(x, n, d);
  return norm > 0 ? Math.sqrt(d) / norm : 1;
}

/**
 * x times the input scale into `out` (default: in place), as the training step multiplies its
 * batches (tf.mul(x, scale), and the worker threads' copy of their rows): float32 products with
 * the scale rounded to float32. The init sample and resampling's pool take the same values.
 */
export function scaleInput(x: Float32Array, scale: number, out: Float32Array = x): Float32Array {
  const s = Math.fround(scale);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * s;
  return out;
}

/** Mean L2 norm of the n rows of x [n, d]. */
export function meanNorm(x: Float32Array, n: number, d: number): number {
  let total = 0;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[r * d + j]! ** 2;
    total += Math.sqrt(s);
  }
  return total / Math.max(1, n);
}

/**
 * Initial weights as in the literature: decoder rows random directions of norm `decoderNorm`,
 * W_enc = W_dec^T, b_enc = 0, b_dec given (from the data).
 */
export function initWeights(d: number, m: number, rng: Rng, decoderNorm: number, b_dec: Float32Array): SaeWeights {
  const W_dec = rng.fillNormal(new Float32Array(m * d));
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += W_dec[i * d + j]! ** 2;
    const k = decoderNorm / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < d; j++) W_dec[i * d + j]! *= k;
  }
  const W_enc = new Float32Array(d * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) W_enc[j * m + i] = W_dec[i * d + j]!;
  return { d, m, W_enc, b_enc: new Float32Array(m), W_dec, b_dec: Float32Array.from(b_dec) };
}

/**
 * Fold an input scale s (the SAE was trained on s x) into the weights so they act on raw x:
 * f is unchanged, x_hat_raw = x_hat / s.  W_enc *= s, b_dec /= s, W_dec /= s.
 */
export function foldInputScale(w: SaeWeights, s: number): SaeWeights {
  if (s === 1) return w;
  return {
    d: w.d,
    m: w.m,
    W_enc: Float32Array.from(w.W_enc, (v) => v * s),
    b_enc: Float32Array.from(w.b_enc),
    W_dec: Float32Array.from(w.W_dec, (v) => v / s),
    b_dec: Float32Array.from(w.b_dec, (v) => v / s),
    // f is unchanged, so is the threshold any activation applies to the pre-activations.
    ...(w.activation ? { activation: w.activation } : {}),
  };
}
