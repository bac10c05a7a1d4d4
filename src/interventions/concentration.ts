/**
 * How concentrated a change of the next-token distribution is: pure functions of the change of
 * log-probabilities over the vocabulary, dlogp [vocab].
 */

/** Share of the total |dlogp| carried by the k most affected tokens (1: all of it on k tokens; k/vocab when spread evenly). */
export function topShare(dlogp: ArrayLike<number>, k = 5): number {
  const abs = Float64Array.from(dlogp, Math.abs);
  let total = 0;
  for (const a of abs) total += a;
  if (total === 0) return 0;
  abs.sort();
  let top = 0;
  for (let i = abs.length - 1; i >= Math.max(0, abs.length - k); i--) top += abs[i]!;
  return top / total;
}

/** Entropy (nats) of |dlogp| normalised to sum 1: 0 when one token carries all of it, log(vocab) when spread evenly. */
export function changeEntropy(dlogp: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < dlogp.length; i++) total += Math.abs(dlogp[i]!);
  if (total === 0) return 0;
  let h = 0;
  for (let i = 0; i < dlogp.length; i++) {
    const q = Math.abs(dlogp[i]!) / total;
    if (q > 0) h -= q * Math.log(q);
  }
  return h;
}

/** Quartiles and mean of a sample. */
export interface Spread {
  n: number;
  mean: number;
  p25: number;
  median: number;
  p75: number;
}

/** Mean and quartiles (linear interpolation between order statistics); NaN for an empty sample. */
export function spread(values: readonly number[]): Spread {
  const v = [...values].sort((a, b) => a - b);
  const q = (p: number): number => {
    if (v.length === 0) return NaN;
    const at = p * (v.length - 1);
    const lo = Math.floor(at);
    return v[lo]! + (v[Math.min(lo + 1, v.length - 1)]! - v[lo]!) * (at - lo);
  };
  return { n: v.length, mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN, p25: q(0.25), median: q(0.5), p75: q(0.75) };
}
