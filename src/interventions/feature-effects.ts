import path from 'node:path';
import * as tf from '../backend/tfjs.js';
import type { BackendChoice } from '../backend/select.js';
import { ConfigError } from '../errors.js';
import { batchWindows, paddedTokens } from '../model/batches.js';
import { windows, type TextSplit, type TokenWindow } from '../model/documents.js';
import { decoderTokenEffects, DEFAULT_TOKEN_EFFECTS } from '../report/token-effects.js';
import { encodeFeatures } from '../sae/forward.js';
import { klRows } from './kl.js';
import { logProbsWithDeltas, setDelta } from './perturb.js';
import { openSession, readDocuments, runDataFile, type InterventionSession } from './session.js';

export interface FeatureEffectsOptions {
  run: string;
  model: string;
  feature: number;
  /** Token source to measure on; default the run's held-out data. */
  data?: string;
  split?: TextSplit;
  /** Tokens per window. */
  context?: number;
  /** Read about this many tokens of `data`. */
  maxTokens?: number;
  /** Tokens per list. */
  top?: number;
  hook?: string;
  backend?: BackendChoice;
}

export interface TokenChange {
  token: string;
  /** Mean change of log p(token) over the positions where the feature was ablated, nats. */
  change: number;
}

/** What ablating the feature where it fires does to the next-token distribution there. */
export interface MeasuredEffect {
  data: string;
  /** Tokens read, and the positions where the feature fired (and was ablated). */
  tokens: number;
  positions: number;
  /** Mean KL(clean || ablated) over those positions, nats; null when it never fired. */
  meanKl: number | null;
  /** The tokens whose log-probability fell most, and rose most, on average. */
  lowered: TokenChange[];
  raised: TokenChange[];
}

export interface FeatureOutputEffects {
  model: string;
  hook: string;
  feature: number;
  /** Direct logit effect of the decoder direction through the final norm's gain and the unembedding (as SAE dashboards show). */
  direct: { promoted: { token: string; logit: number }[]; suppressed: { token: string; logit: number }[] };
  measured: MeasuredEffect;
}

/** Feature i's activation at every position of a batch. x [n, d] -> [n] */
function featureActivation(s: InterventionSession, x: tf.Tensor2D, i: number): tf.Tensor1D {
  return tf.tidy(() => {
    return tf.reshape(encodeFeatures(s.sae, x, [i]), [-1]) as tf.Tensor1D;
  });
}

/**
 * Ablate feature i (error term kept) at every position of every window where it fires, and
 * accumulate, at those positions, KL(clean || ablated) and the change of every token's
 * log-probability. Positions after a firing one also see the earlier ablations through attention.
 */
async function measureFeature(s: InterventionSession, i: number, ws: TokenWindow[], dataName: string, tokensRead: number, top: number): Promise<MeasuredEffect> {
  const { model } = s;
  const d = s.weights.d;
  const V = model.config.vocabSize;
  const dir = s.weights.W_dec.subarray(i * d, (i + 1) * d);
  const change = new Float64Array(V);
  let klSum = 0;
  let positions = 0;
  for (const batch of batchWindows(ws, model.config.nHeads, { maxTokens: 2048, maxScores: 1 << 24 })) {
    const tokens = paddedTokens(batch);
    const [B, L] = tokens.shape;
    let x: tf.Tensor2D | null = null;
    const clean = tf.tidy(() => tf.logSoftmax(model.forward(tokens, { hooks: { [s.hook.name]: (a) => void (x = tf.keep(tf.reshape(a, [B * L, d]) as tf.Tensor2D)) } })!) as tf.Tensor3D);
    const f = featureActivation(s, x!, i);
    const fv = await f.data();
    tf.dispose([x!, f]);
    const mask = new Float32Array(B * L);
    const deltas = new Float32Array(B * L * d);
    batch.forEach((w, b) => {
      for (let p = 0; p < w.tokens.length; p++) {
        const a = fv[b * L + p]!;
        if (a <= 0 || w.tokens[p] === model.tokenizer.bos) continue;
        mask[b * L + p] = 1;
        setDelta(deltas, L, d, b, p, dir, a);
      }
    });
    const n = mask.reduce((a, b) => a + b, 0);
    if (n > 0) {
      const sums = tf.tidy(() => {
        const ablated = logProbsWithDeltas(model, s.hook.name, tokens, deltas);
        const c2 = tf.reshape(clean, [B * L, V]) as tf.Tensor2D;
        const a2 = tf.reshape(ablated, [B * L, V]) as tf.Tensor2D;
        const m = tf.tensor2d(mask, [B * L, 1]);
        return [tf.sum(tf.mul(klRows(c2, a2), tf.reshape(m, [-1]))), tf.sum(tf.mul(tf.sub(a2, c2), m), 0)];
      });
      const [kl, dl] = await Promise.all(sums.map((t) => t.data()));
      tf.dispose(sums);
      klSum += kl![0]!;
      dl!.forEach((v, k) => (change[k] += v));
      positions += n;
    }
    tf.dispose([tokens, clean]);
  }
  const order = Array.from({ length: V }, (_, k) => k).sort((a, b) => change[a]! - change[b]! || a - b);
  const entry = (k: number): TokenChange => ({ token: model.tokenizer.piece(k), change: change[k]! / positions });
  return {
    data: dataName,
    tokens: tokensRead,
    positions,
    meanKl: positions > 0 ? klSum / positions : null,
    lowered: positions > 0 ? order.slice(0, top).map(entry) : [],
    raised: positions > 0 ? order.slice(-top).reverse().map(entry) : [],
  };
}

/** `sae features <run> N --model`: feature N's direct and measured effects on the model's output. */
export async function featureOutputEffects(o: FeatureEffectsOptions): Promise<FeatureOutputEffects> {
  const top = o.top ?? DEFAULT_TOKEN_EFFECTS;
  const s = await openSession(o);
  try {
    const { model } = s;
    const d = s.weights.d;
    if (!Number.isInteger(o.feature) || o.feature < 0 || o.feature >= s.weights.m) {
      throw new ConfigError(`feature ${o.feature} does not exist in ${o.run}: the dictionary has ${s.weights.m} features (0-${s.weights.m - 1}).`, `Give an index from 0 to ${s.weights.m - 1}.`);
    }
    const [direct] = decoderTokenEffects(s.weights.W_dec.subarray(o.feature * d, (o.feature + 1) * d), 1, d, model.weights.outputNorm, model.weights.wOut, top);
    const named = (l: { id: number; logit: number }[]) => l.map((e) => ({ token: model.tokenizer.piece(e.id), logit: e.logit }));
    const data = o.data ?? runDataFile(o.run);
    const docs = readDocuments(data, model, o.split);
    const budget = o.maxTokens ?? 4096;
    const ws: TokenWindow[] = [];
    let read = 0;
    for (const w of windows(docs, o.context ?? 256, model.tokenizer.bos)) {
      if (read >= budget) break;
      ws.push(w);
      read += w.tokens.length;
    }
    return {
      model: o.model,
      hook: s.hook.name,
      feature: o.feature,
      direct: { promoted: named(direct!.promoted), suppressed: named(direct!.suppressed) },
      measured: await measureFeature(s, o.feature, ws, path.basename(data), read, top),
    };
  } finally {
    s.dispose();
  }
}

/** The output-effects part of a feature card. */
export function formatFeatureEffects(e: FeatureOutputEffects): string {
  const list = (l: { token: string; v: number }[]) => l.map((t) => `${JSON.stringify(t.token)} ${t.v >= 0 ? '+' : ''}${t.v.toFixed(3)}`).join(', ');
  const m = e.measured;
  const lines = [
    `output effects through ${path.basename(e.model)} (${e.hook}):`,
    `  direct logit effect of its decoder direction (final norm gain and unembedding):`,
    `    promotes   ${list(e.direct.promoted.map((t) => ({ token: t.token, v: t.logit })))}`,
    `    suppresses ${list(e.direct.suppressed.map((t) => ({ token: t.token, v: t.logit })))}`,
  ];
  if (m.positions === 0) {
    lines.push(`  ablated where it fires: it never fired in ${m.tokens} tokens of ${m.data}; nothing to measure.`);
    return lines.join('\n');
  }
  lines.push(
    `  ablated where it fires (error term kept; ${m.positions} positions in ${m.tokens} tokens of ${m.data}): mean KL ${m.meanKl!.toFixed(4)} nats`,
    `    log p lowered most ${list(m.lowered.map((t) => ({ token: t.token, v: t.change })))}`,
    `    log p raised most  ${list(m.raised.map((t) => ({ token: t.token, v: t.change })))}`,
  );
  return lines.join('\n');
}
