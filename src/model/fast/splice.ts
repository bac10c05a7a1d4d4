import type { HookKind } from '../hooks.js';
import type { FastCore } from './core.js';

/** One splice pass: the sequences, the hook, what it holds in each variant, and the next tokens. */
export interface SpliceCall {
  /** Token ids [batch, seq], right-padded. */
  ids: Int32Array;
  batch: number;
  seq: number;
  lengths: readonly number[];
  hook: { layer: number; kind: HookKind };
  /**
   * The hook's activation in each variant, packed rows [tokens, dModel]; the first is the clean
   * one (the model's own), the rest are compared with it.
   */
  variants: Float32Array[];
  /** The next token at each packed row (any value where none is scored). */
  targets: Int32Array;
}

/** Per packed row: cross-entropy of each variant, KL(clean || variant) of each but the first. */
export interface SpliceScores {
  ce: Float64Array[];
  kl: Float64Array[];
}

/** out [V] = log softmax(logits[o .. o + V]), in float64. */
function logSoftmax(logits: Float32Array, o: number, V: number, out: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < V; j++) max = Math.max(max, logits[o + j]!);
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp(logits[o + j]! - max);
  const lse = max + Math.log(sum);
  for (let j = 0; j < V; j++) out[j] = logits[o + j]! - lse;
}

/**
 * Run the model on from the hook once per variant and score each row's next-token prediction:
 * the layers before a residual-stream hook run once (the caller already has their output, the
 * clean variant), the rest once per variant; at an attn_out / mlp_out hook each variant runs the
 * whole pass with the hook replaced. Row by row, so splitting a batch between workers changes
 * nothing.
 */
export function spliceScores(core: FastCore, call: SpliceCall): SpliceScores {
  const c = core.config;
  const V = c.vocabSize;
  const d = c.dModel;
  const { layer, kind } = call.hook;
  const n = call.lengths.reduce((a, b) => a + b, 0);
  const base = { ids: call.ids, batch: call.batch, seq: call.seq, lengths: call.lengths, stop: Infinity };
  const logitsOf = (rows: Float32Array): Float32Array => {
    const residual = kind === 'resid_pre' || kind === 'resid_post';
    const out = residual
      ? core.run({ ...base, from: { layer: kind === 'resid_pre' ? layer : layer + 1, rows } })
      : core.run({ ...base, onHook: (buf, l, k) => l === layer && k === kind && buf.set(rows.subarray(0, n * d)) });
    return out!;
  };
  const cleanLp = new Float64Array(n * V);
  const cleanP = new Float64Array(n * V);
  const clean = logitsOf(call.variants[0]!);
  const row = new Float64Array(V);
  const ce = call.variants.map(() => new Float64Array(n));
  const kl = call.variants.slice(1).map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    logSoftmax(clean, i * V, V, row);
    cleanLp.set(row, i * V);
    for (let j = 0; j < V; j++) cleanP[i * V + j] = Math.exp(row[j]!);
    ce[0]![i] = -row[call.targets[i]!]!;
  }
  for (let v = 1; v < call.variants.length; v++) {
    const logits = logitsOf(call.variants[v]!);
    for (let i = 0; i < n; i++) {
      logSoftmax(logits, i * V, V, row);
      ce[v]![i] = -row[call.targets[i]!]!;
      let s = 0;
      for (let j = 0; j < V; j++) s += cleanP[i * V + j]! * (cleanLp[i * V + j]! - row[j]!);
      kl[v - 1]![i] = s;
    }
  }
  return { ce, kl };
}
