import * as tf from '../backend/tfjs.js';
import type { TokenWindow } from '../model/documents.js';
import type { ForwardPool } from '../model/fast/pool.js';
import { spliceScores, type SpliceScores } from '../model/fast/splice.js';
import type { LlamaModel } from '../model/llama.js';
import { forward as saeForward, type SaeTensors } from '../sae/forward.js';

/** The real (unpadded) rows of x [batch, longest, d], one sequence after another. */
function packRows(x: Float32Array, lengths: readonly number[], longest: number, d: number): Float32Array {
  const out = new Float32Array(lengths.reduce((a, b) => a + b, 0) * d);
  let at = 0;
  lengths.forEach((l, b) => {
    out.set(x.subarray(b * longest * d, (b * longest + l) * d), at * d);
    at += l;
  });
  return out;
}

/**
 * The spliced evaluation of one batch on the fast path, row by row: the clean activation at the
 * hook (`clean` [batch, longest, d], as readHooks gives it), the SAE's reconstruction, zeros and
 * the mean, each spliced in where the row is spliced (not at BOS unless `includeBos`), the model
 * run on from the hook once per variant (splice.ts; in the pool's workers when there is one).
 * Returns the masked sums [CE clean, sae, zero, mean, KL sae, zero, mean], accumulated in float64
 * in row order, so the thread count does not change them.
 */
export async function splicedRowSums(model: LlamaModel, pool: ForwardPool | null, sae: SaeTensors, hook: string, batch: readonly TokenWindow[], clean: Float32Array, longest: number, mean: Float32Array, includeBos: boolean): Promise<Float64Array> {
  const d = model.config.dModel;
  const bos = model.tokenizer.bos;
  const lengths = batch.map((w) => w.tokens.length);
  const rows = packRows(clean, lengths, longest, d);
  const n = rows.length / d;
  const xHat = tf.tidy(() => saeForward(sae, tf.tensor2d(rows, [n, d])).xHat.dataSync() as Float32Array);
  const variants = [rows, xHat.slice(), new Float32Array(n * d), new Float32Array(n * d)];
  const targets = new Int32Array(n);
  const counted = new Uint8Array(n);
  let i = 0;
  for (const w of batch) {
    for (let t = 0; t < w.tokens.length; t++, i++) {
      const atBos = w.tokens[t] === bos && !includeBos;
      if (atBos) for (const v of variants.slice(1)) v.set(rows.subarray(i * d, i * d + d), i * d);
      else variants[3]!.set(mean, i * d);
      if (t + 1 < w.tokens.length) {
        targets[i] = w.tokens[t + 1]!;
        counted[i] = atBos ? 0 : 1;
      }
    }
  }
  let scores: SpliceScores;
  if (pool) scores = await pool.splice(batch, hook, variants, targets);
  else {
    const p = model.hook(hook);
    const ids = new Int32Array(batch.length * longest);
    batch.forEach((w, b) => ids.set(w.tokens, b * longest));
    scores = spliceScores(model.fastCore()!, { ids, batch: batch.length, seq: longest, lengths, hook: { layer: p.layer, kind: p.kind }, variants, targets });
  }
  const sums = new Float64Array(7);
  for (let r = 0; r < n; r++) {
    if (!counted[r]) continue;
    for (let v = 0; v < 4; v++) sums[v] += scores.ce[v]![r]!;
    for (let v = 0; v < 3; v++) sums[4 + v] += scores.kl[v]![r]!;
  }
  return sums;
}
