import { argmax } from '../model/generate.js';
import type { Rng } from '../util/rng.js';

/**
 * The next token from one position's logits [vocab]: the most likely at temperature 0 (ties: the
 * lowest id), else a draw from softmax(logits / temperature) with `rng`.
 */
export function sampleToken(logits: ArrayLike<number>, temperature: number, rng: Rng): number {
  const best = argmax(logits);
  if (temperature === 0) return best;
  const top = logits[best]!;
  const weights = Float64Array.from({ length: logits.length }, (_, v) => Math.exp((logits[v]! - top) / temperature));
  let total = 0;
  for (const w of weights) total += w;
  let u = rng.next() * total;
  for (let v = 0; v < weights.length; v++) {
    u -= weights[v]!;
    if (u < 0) return v;
  }
  return best;
}
