import * as tf from '../backend/tfjs.js';
import type { Batch } from '../data/types.js';
import { DataError } from '../errors.js';
import { encode, type SaeTensors } from '../sae/forward.js';
import { FeatureTopK } from './top-k.js';

/**
 * Token selectivity of units: how concentrated on one token a unit's strongest activations are.
 * Compares SAE features with the basis directions of the activation space (for MLP dumps these
 * are the model's neurons); superposition predicts features are far more monosemantic than
 * neurons (Bricken et al. 2023, "Towards Monosemanticity", section "Features vs. neurons").
 * Basis directions use their positive side (x_j > 0), so both kinds of unit are read the same
 * way: a one-sided unit and its top activations.
 */

/** Share of the most common token among `tokens` (0 for an empty list). */
export function topTokenShare(tokens: ArrayLike<number>): number {
  if (tokens.length === 0) return 0;
  let best = 0;
  for (const c of countTokens(tokens).values()) best = Math.max(best, c);
  return best / tokens.length;
}

/** Entropy in bits of the token distribution of `tokens` (0: a single token). */
export function tokenEntropyBits(tokens: ArrayLike<number>): number {
  const n = tokens.length;
  let h = 0;
  for (const c of countTokens(tokens).values()) h -= (c / n) * Math.log2(c / n);
  return h === 0 ? 0 : h; // no -0
}

function countTokens(tokens: ArrayLike<number>): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < tokens.length; i++) counts.set(tokens[i]!, (counts.get(tokens[i]!) ?? 0) + 1);
  return counts;
}

/** Summary of a distribution of per-unit values. */
export interface Distribution {
  count: number;
  mean: number;
  quantiles: { p10: number; p25: number; p50: number; p75: number; p90: number };
  histogram: { edges: number[]; counts: number[] };
}

/** q-quantile of ascending `sorted` by linear interpolation (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Mean, quantiles and a histogram over `edges` (last bin closed on the right). */
export function describeDistribution(values: ArrayLike<number>, edges: number[]): Distribution {
  const sorted = Float64Array.from(values).sort();
  const counts = new Array<number>(edges.length - 1).fill(0);
  let sum = 0;
  for (const v of sorted) {
    sum += v;
    let b = edges.findIndex((e, i) => i > 0 && v < e) - 1;
    if (b < 0) b = v >= edges[edges.length - 1]! ? counts.length - 1 : 0;
    counts[b]!++;
  }
  const q = (p: number) => quantileSorted(sorted, p);
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : NaN,
    quantiles: { p10: q(0.1), p25: q(0.25), p50: q(0.5), p75: q(0.75), p90: q(0.9) },
    histogram: { edges, counts },
  };
}

export interface UnitSelectivity {
  /** Units of this kind, and how many had at least `minExamples` positive activations. */
  units: number;
  measured: number;
  topTokenShare: Distribution;
  topTokenEntropyBits: Distribution;
}

export interface SelectivityReport {
  rows: number;
  topK: number;
  minExamples: number;
  features: UnitSelectivity;
  /** Basis directions of the activation space, positive side. */
  basis: UnitSelectivity;
}

export interface SelectivityOptions {
  /** Top activations kept per unit (default 50). */
  topK?: number;
  /** Units with fewer positive activations are left out (default 10). */
  minExamples?: number;
  maxRows?: number;
  chunkRows?: number;
  /** Name of the token id column, for the error message when it is missing. */
  tokenColumn?: string;
}

/** Per-unit selectivity from kept top examples and the token id of every row seen. */
export function unitSelectivity(top: FeatureTopK, tokenOf: Int32Array, minExamples: number): UnitSelectivity {
  const shares: number[] = [];
  const entropies: number[] = [];
  for (let j = 0; j < top.m; j++) {
    const entries = top.result(j);
    if (entries.length < minExamples) continue;
    const tokens = entries.map((e) => tokenOf[e.rowId]!);
    shares.push(topTokenShare(tokens));
    entropies.push(tokenEntropyBits(tokens));
  }
  const maxBits = Math.max(1, Math.ceil(Math.log2(Math.max(2, top.k))));
  return {
    units: top.m,
    measured: shares.length,
    topTokenShare: describeDistribution(shares, Array.from({ length: 11 }, (_, i) => i / 10)),
    topTokenEntropyBits: describeDistribution(entropies, Array.from({ length: 2 * maxBits + 1 }, (_, i) => i / 2)),
  };
}

function offerPositive(top: FeatureTopK, a: Float32Array, rows: number, width: number, firstRow: number): void {
  for (let r = 0; r < rows; r++) {
    const off = r * width;
    for (let j = 0; j < width; j++) {
      const v = a[off + j]!;
      if (v > 0 && top.wants(j, v)) top.offer(j, v, firstRow + r);
    }
  }
}

/**
 * Stream batches with token ids through the SAE; keep each feature's and each basis direction's
 * top activations and report the distributions of top-token share and entropy for both.
 */
export async function measureSelectivity(
  sae: SaeTensors,
  batches: AsyncIterable<Batch> | Iterable<Batch>,
  opts: SelectivityOptions = {},
): Promise<SelectivityReport> {
  const [d, m] = sae.W_enc.shape;
  const k = opts.topK ?? 50;
  const minExamples = Math.min(opts.minExamples ?? 10, k);
  const chunk = opts.chunkRows ?? 2048;
  const maxRows = opts.maxRows ?? Infinity;
  const feats = new FeatureTopK(m, k);
  const basis = new FeatureTopK(d, k);
  let tokenOf = new Int32Array(1 << 16);
  let seen = 0;
  for await (const b of batches) {
    const ids = b.meta.tokenId;
    if (!ids) {
      throw new DataError(
        `the data has no token id column${opts.tokenColumn ? ` '${opts.tokenColumn}'` : ''}; selectivity needs the token of every row`,
        'Evaluate on activations exported with token ids (a token_id Int column), or drop --selectivity.',
      );
    }
    for (let s = 0; s < b.rows && seen < maxRows; s += chunk) {
      const n = Math.min(chunk, b.rows - s, maxRows - seen);
      const x = b.x.subarray(s * d, (s + n) * d);
      while (seen + n > tokenOf.length) {
        const grown = new Int32Array(tokenOf.length * 2);
        grown.set(tokenOf);
        tokenOf = grown;
      }
      tokenOf.set(ids.subarray(s, s + n), seen);
      const fT = tf.tidy(() => encode(sae, tf.tensor2d(x, [n, d])));
      const f = (await fT.data()) as Float32Array;
      fT.dispose();
      offerPositive(feats, f, n, m, seen);
      offerPositive(basis, x, n, d, seen);
      seen += n;
    }
    if (seen >= maxRows) break;
  }
  return {
    rows: seen,
    topK: k,
    minExamples,
    features: unitSelectivity(feats, tokenOf, minExamples),
    basis: unitSelectivity(basis, tokenOf, minExamples),
  };
}
