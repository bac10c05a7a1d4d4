import * as tf from '../../src/backend/tfjs.js';
import { Rng } from '../../src/util/rng.js';
import type { SaeWeights } from '../../src/sae/params.js';

/** Random SAE weights for tests: W_dec rows unit norm, W_enc = W_dec^T scaled, small biases. */
export function randomWeights(d: number, m: number, seed = 1): SaeWeights {
  const rng = new Rng(seed);
  const W_dec = rng.fillNormal(new Float32Array(m * d));
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += W_dec[i * d + j]! ** 2;
    const n = Math.sqrt(s);
    for (let j = 0; j < d; j++) W_dec[i * d + j]! /= n;
  }
  const W_enc = new Float32Array(d * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) W_enc[j * m + i] = W_dec[i * d + j]! * 0.9 + 0.05 * rng.normal();
  const b_enc = Float32Array.from({ length: m }, () => 0.1 * rng.normal());
  const b_dec = Float32Array.from({ length: d }, () => 0.1 * rng.normal());
  return { d, m, W_enc, b_enc, W_dec, b_dec };
}

/** Random data [n, d] as a Float32Array. */
export function randomData(n: number, d: number, seed = 2): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(n * d));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export { tf };
