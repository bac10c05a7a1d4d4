import fs from 'node:fs';
import * as tf from '../backend/tfjs.js';
import type { BackendChoice } from '../backend/select.js';
import { ConfigError } from '../errors.js';
import { featureRow } from '../features/view.js';
import { readFeatureStats } from '../features/table.js';
import { runFile } from '../io/run-layout.js';
import { encode } from '../sae/forward.js';
import { targetGradient } from './gradient.js';
import { perturbedLogProbs, setDelta } from './perturb.js';
import { encodePrompt, openSession, type InterventionSession } from './session.js';
import { targetToken } from './target.js';

export interface AttributeOptions {
  run: string;
  model: string;
  prompt: string;
  /** The next token to explain, as text (" Lily"); default the model's most likely next token. */
  target?: string;
  /** Rows of the table; each is also measured by ablation. */
  top: number;
  /** Consider features at BOS positions too. */
  includeBos: boolean;
  hook?: string;
  backend?: BackendChoice;
}

/** One active feature at one position. */
export interface Attribution {
  feature: number;
  position: number;
  token: string;
  activation: number;
  /** Activation x gradient: the first-order estimate of the change in log p(target) if the feature were ablated is its negative. */
  attribution: number;
  /** -attribution: estimated change of log p(target) when this feature is ablated at this position. */
  estimatedEffect: number;
  /** The change of log p(target) measured by ablating it there (error term kept), or null when not measured. */
  measuredEffect: number | null;
  /** The tokens it fires on most, from the run's feature statistics (null without them). */
  topTokens: string[] | null;
}

export interface AttributionResult {
  run: string;
  model: string;
  hook: string;
  prompt: string;
  promptTokens: string[];
  target: { id: number; token: string; logp: number; chosen: 'model' | 'given' };
  /** Active (feature, position) pairs considered. */
  active: number;
  /** Ranked by estimated effect, most negative first (the features that support the target most). */
  rows: Attribution[];
}

/** The model's most likely next token after `tokens`. */
async function topNextToken(s: InterventionSession, tokens: readonly number[]): Promise<number> {
  const id = tf.tidy(() => {
    const logits = s.model.forward(tf.tensor2d(Array.from(tokens), [1, tokens.length], 'int32'))!;
    return tf.argMax(tf.reshape(tf.slice(logits, [0, tokens.length - 1, 0], [1, 1, -1]), [-1]));
  });
  const v = (await id.data())[0]!;
  id.dispose();
  return v;
}

/**
 * Every active feature's activation and activation-x-gradient attribution to log p(target).
 * Positions holding BOS are skipped unless includeBos. Sorted by attribution, largest first.
 */
export async function attributions(s: InterventionSession, tokens: readonly number[], target: number, includeBos: boolean): Promise<{ logp: number; rows: Attribution[] }> {
  const { logp, x, grad } = await targetGradient(s.model, s.hook.name, tokens, target);
  const T = tokens.length;
  const d = s.weights.d;
  const m = s.weights.m;
  // d logp / d f_i = grad . W_dec[i] (f_i moves the activation along its decoder direction).
  const [f, gf] = tf.tidy(() => [encode(s.sae, tf.tensor2d(x, [T, d])), tf.matMul(tf.tensor2d(grad, [T, d]), s.sae.W_dec, false, true)]);
  const [fv, gv] = [f!.dataSync(), gf!.dataSync()];
  tf.dispose([f!, gf!]);
  const rows: Attribution[] = [];
  for (let p = 0; p < T; p++) {
    if (tokens[p] === s.model.tokenizer.bos && !includeBos) continue;
    for (let i = 0; i < m; i++) {
      const a = fv[p * m + i]!;
      if (a <= 0) continue;
      const attribution = a * gv[p * m + i]!;
      rows.push({ feature: i, position: p, token: s.model.tokenizer.piece(tokens[p]!), activation: a, attribution, estimatedEffect: -attribution, measuredEffect: null, topTokens: null });
    }
  }
  rows.sort((a, b) => b.attribution - a.attribution || a.position - b.position || a.feature - b.feature);
  return { logp, rows };
}

/**
 * The change of log p(target) when each row's feature is ablated at its position (error term
 * kept: the activation loses f_i W_dec[i] there), batched. Returns the changes in row order.
 */
export async function measureAblations(s: InterventionSession, tokens: readonly number[], target: number, logp: number, rows: readonly Pick<Attribution, 'feature' | 'position' | 'activation'>[], chunk = 32): Promise<number[]> {
  const T = tokens.length;
  const d = s.weights.d;
  const out: number[] = [];
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.slice(start, start + chunk);
    const deltas = new Float32Array(part.length * T * d);
    part.forEach((r, b) => setDelta(deltas, T, d, b, r.position, s.weights.W_dec.subarray(r.feature * d, (r.feature + 1) * d), r.activation));
    const lp = tf.tidy(() => tf.reshape(tf.slice(perturbedLogProbs(s.model, s.hook.name, tokens, deltas, part.length), [0, T - 1, target], [part.length, 1, 1]), [-1]));
    for (const v of await lp.data()) out.push(v - logp);
    lp.dispose();
  }
  return out;
}

/** `sae attribute`: which features at the run's hook drive the prediction of the next token. */
export async function attribute(o: AttributeOptions): Promise<AttributionResult> {
  if (!Number.isInteger(o.top) || o.top < 1) throw new ConfigError(`--top ${o.top}: expected a positive whole number of rows.`, 'E.g. --top 20.');
  const s = await openSession(o);
  try {
    const tokens = encodePrompt(s.model, o.prompt);
    const target = o.target !== undefined ? targetToken(s.model.tokenizer, o.target) : await topNextToken(s, tokens);
    const { logp, rows } = await attributions(s, tokens, target, o.includeBos);
    const shown = rows.slice(0, o.top);
    const measured = await measureAblations(s, tokens, target, logp, shown);
    const stats = fs.existsSync(runFile(o.run, 'features')) ? readFeatureStats(o.run) : null;
    shown.forEach((r, k) => {
      r.measuredEffect = measured[k]!;
      r.topTokens = stats && r.feature < stats.m ? featureRow(stats, r.feature).topTokens : null;
    });
    return {
      run: o.run,
      model: o.model,
      hook: s.hook.name,
      prompt: o.prompt,
      promptTokens: tokens.map((id) => s.model.tokenizer.piece(id)),
      target: { id: target, token: s.model.tokenizer.piece(target), logp, chosen: o.target !== undefined ? 'given' : 'model' },
      active: rows.length,
      rows: shown,
    };
  } finally {
    s.dispose();
  }
}
