import { hungarian } from './hungarian.js';

/**
 * Ground-truth recovery scores of a learned dictionary (Sharkey et al. 2022; Cunningham et al.
 * 2023, section 2):
 *   mmcs          mean over true features g_i of max_j cos(g_i, W_dec_j) (signed: a ReLU
 *                 feature with the opposite direction does not represent g_i)
 *   mmcsAbs       the same with |cos| (sign-agnostic, for comparison)
 *   matchedMeanAbsCosine  one-to-one: the Hungarian matching maximising sum |cos| between true
 *                 features and distinct learned features, averaged over true features
 *   recovered090 / recovered099  true features whose best signed cosine exceeds 0.9 / 0.99
 */
export interface GroundTruthScores {
  features: number;
  mmcs: number;
  mmcsAbs: number;
  matchedMeanAbsCosine: number;
  /** Lowest best-cosine over true features (the worst-recovered one). */
  minMaxCosine: number;
  recovered090: number;
  recovered099: number;
  recoveredFraction090: number;
  recoveredFraction099: number;
}

function rowNorms(a: Float32Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += a[i * d + k]! ** 2;
    out[i] = Math.max(Math.sqrt(s), 1e-12);
  }
  return out;
}

/** Cosine similarity of every row of a with every row of b.  a [n, d], b [m, d] -> [n, m] */
export function cosineMatrix(a: Float32Array, n: number, b: Float32Array, m: number, d: number): Float64Array {
  const na = rowNorms(a, n, d);
  const nb = rowNorms(b, m, d);
  const out = new Float64Array(n * m);
  const ai = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) ai[k] = a[i * d + k]!;
    for (let j = 0; j < m; j++) {
      let s = 0;
      const off = j * d;
      for (let k = 0; k < d; k++) s += ai[k]! * b[off + k]!;
      out[i * m + j] = s / (na[i]! * nb[j]!);
    }
  }
  return out;
}

/** Best signed cosine of each true feature to any learned row.  cos [n, m] -> [n] */
export function maxCosinePerRow(cos: Float64Array, n: number, m: number, abs = false): Float64Array {
  const out = new Float64Array(n).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const c = abs ? Math.abs(cos[i * m + j]!) : cos[i * m + j]!;
      if (c > out[i]!) out[i] = c;
    }
  }
  return out;
}

/**
 * Mean |cos| under the one-to-one matching that maximises it. With fewer learned rows than true
 * features only min(n, m) pairs can match; unmatched true features count as 0.  cos [n, m]
 */
export function matchedMeanAbsCosine(cos: Float64Array, n: number, m: number): number {
  if (n === 0) return NaN;
  if (n <= m) {
    const cost = new Float64Array(n * m);
    for (let i = 0; i < cost.length; i++) cost[i] = -Math.abs(cos[i]!);
    return -hungarian(cost, n, m).cost / n;
  }
  const cost = new Float64Array(m * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) cost[j * n + i] = -Math.abs(cos[i * m + j]!);
  return -hungarian(cost, m, n).cost / n;
}

/** All ground-truth scores.  gt [features, d], W_dec [m, d] */
export function scoreGroundTruth(gt: Float32Array, features: number, W_dec: Float32Array, m: number, d: number): GroundTruthScores {
  const cos = cosineMatrix(gt, features, W_dec, m, d);
  const best = maxCosinePerRow(cos, features, m);
  const bestAbs = maxCosinePerRow(cos, features, m, true);
  let sum = 0;
  let sumAbs = 0;
  let min = Infinity;
  let r90 = 0;
  let r99 = 0;
  for (let i = 0; i < features; i++) {
    sum += best[i]!;
    sumAbs += bestAbs[i]!;
    min = Math.min(min, best[i]!);
    if (best[i]! > 0.9) r90++;
    if (best[i]! > 0.99) r99++;
  }
  return {
    features,
    mmcs: sum / features,
    mmcsAbs: sumAbs / features,
    matchedMeanAbsCosine: matchedMeanAbsCosine(cos, features, m),
    minMaxCosine: min,
    recovered090: r90,
    recovered099: r99,
    recoveredFraction090: r90 / features,
    recoveredFraction099: r99 / features,
  };
}
