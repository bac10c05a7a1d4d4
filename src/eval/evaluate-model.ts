import path from 'node:path';
import * as tf from '../backend/tfjs.js';
import { initBackend, type BackendChoice } from '../backend/select.js';
import { DataError, ModelError } from '../errors.js';
import { hookNameFrom } from '../io/saelens.js';
import { readFinalWeights } from '../io/run-dir.js';
import { batchWindows, paddedTokens, readHooks } from '../model/batches.js';
import { openForwardPool, type ForwardPool } from '../model/fast/pool.js';
import { readTextDocuments, readTokenDocuments, windows, type TextSplit, type TokenWindow } from '../model/documents.js';
import type { LlamaModel } from '../model/llama.js';
import { loadModel } from '../model/load.js';
import { forward as saeForward, type SaeTensors } from '../sae/forward.js';
import { SaeParams, type SaeWeights } from '../sae/params.js';
import { splicedRowSums } from './spliced-rows.js';
import { downstreamScores, type DownstreamScores, type SpliceAverages } from './model-metrics.js';

export interface ModelEvalOptions {
  /** GGUF model the dictionary was trained on. */
  model: string;
  /** Token source: a UTF-8 text file (.txt) or an Arrow file with token_id/doc_id/pos. */
  data: string;
  split?: TextSplit;
  /** Hook to splice at; default: the run's (its data's metadata). */
  hook?: string;
  context: number;
  maxTokens?: number;
  /** Splice and count BOS positions too (SAELens excludes them). */
  includeBos?: boolean;
  backend?: BackendChoice;
  /**
   * Worker threads for the forward passes ('auto': the available cores, capped); 1 (the default)
   * runs them on this thread. The numbers are the same for any count.
   */
  threads?: number | 'auto';
  onProgress?: (done: number, total: number, seconds: number) => void;
}

export interface ModelEvalReport extends SpliceAverages, DownstreamScores {
  model: string;
  data: string;
  hook: string;
  /** Positions whose next-token prediction was scored. */
  tokens: number;
  includeBos: boolean;
  context: number;
  seconds: number;
}

type Variant = 'clean' | 'sae' | 'zero' | 'mean';
const VARIANTS: Variant[] = ['clean', 'sae', 'zero', 'mean'];

/** Which positions count: every position that has a next token, BOS positions unless included. [batch, longest] */
export function positionMask(batch: readonly TokenWindow[], longest: number, bos: number, includeBos: boolean): { mask: Float32Array; targets: Int32Array; count: number } {
  const mask = new Float32Array(batch.length * longest);
  const targets = new Int32Array(batch.length * longest);
  let count = 0;
  batch.forEach((w, i) => {
    for (let t = 0; t + 1 < w.tokens.length; t++) {
      targets[i * longest + t] = w.tokens[t + 1]!;
      if (!includeBos && w.tokens[t] === bos) continue;
      mask[i * longest + t] = 1;
      count++;
    }
  });
  return { mask, targets, count };
}

/**
 * Masked sums of cross-entropy per variant and KL(clean || variant), one forward pass per variant
 * in tfjs ops (where the fast path's kernels cannot run; spliced-rows.ts otherwise).
 * The replacement is applied only where `spliceMask` is 1 (BOS positions keep their activation).
 */
export function batchSums(model: LlamaModel, sae: SaeTensors, hook: string, tokens: tf.Tensor2D, mask: tf.Tensor2D, spliceMask: tf.Tensor3D, targets: tf.Tensor2D, mean: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const d = model.config.dModel;
    const replace = (v: Variant) => (x: tf.Tensor3D): tf.Tensor3D | void => {
      if (v === 'clean') return;
      const flat = tf.reshape(x, [-1, d]) as tf.Tensor2D;
      const r = v === 'sae' ? saeForward(sae, flat).xHat : v === 'zero' ? tf.zerosLike(flat) : tf.add(tf.zerosLike(flat), mean);
      return tf.add(tf.mul(tf.reshape(r, x.shape), spliceMask), tf.mul(x, tf.sub(1, spliceMask))) as tf.Tensor3D;
    };
    const logProbs = VARIANTS.map((v) => tf.logSoftmax(model.forward(tokens, { hooks: { [hook]: replace(v) } })!));
    const oneHot = tf.oneHot(targets, model.config.vocabSize);
    const ce = logProbs.map((lp) => tf.sum(tf.mul(tf.neg(tf.sum(tf.mul(lp, oneHot), -1)), mask)));
    const pClean = tf.exp(logProbs[0]!);
    const kl = logProbs.slice(1).map((lp) => tf.sum(tf.mul(tf.sum(tf.mul(pClean, tf.sub(logProbs[0]!, lp)), -1), mask)));
    return tf.stack([...ce, ...kl]) as tf.Tensor1D;
  });
}

/** Mean activation at the hook over the counted positions (the mean-ablation baseline). */
async function hookMean(model: LlamaModel, pool: ForwardPool | null, batches: TokenWindow[][], hook: string, includeBos: boolean): Promise<Float32Array> {
  const d = model.config.dModel;
  const sum = new Float64Array(d);
  let n = 0;
  for (const batch of batches) {
    const { longest, acts } = pool ? await pool.readHooks(batch, [hook]) : await readHooks(model, batch, [hook]);
    batch.forEach((w, i) => {
      for (let t = 0; t < w.tokens.length; t++) {
        if (!includeBos && w.tokens[t] === model.tokenizer.bos) continue;
        const o = (i * longest + t) * d;
        for (let j = 0; j < d; j++) sum[j] += acts[0]![o + j]!;
        n++;
      }
    });
  }
  return Float32Array.from(sum, (s) => s / Math.max(n, 1));
}

/** Splice the dictionary of `weights` into `model` at `hook` over `data`; returns the downstream report. */
export async function evaluateWithModel(weights: SaeWeights, runHook: string, o: ModelEvalOptions): Promise<ModelEvalReport> {
  const started = Date.now();
  await initBackend(o.backend ?? 'auto');
  const model = loadModel(o.model);
  const sae = new SaeParams(weights);
  let pool: ForwardPool | null = null;
  try {
    const hook = model.hook(o.hook ?? runHook).name;
    if (weights.d !== model.config.dModel) {
      throw new ModelError(`${o.model}: the model's width at ${hook} is ${model.config.dModel}, but the dictionary has width ${weights.d}.`, 'Evaluate with the model (and hook) the dictionary was trained on.');
    }
    const isText = /\.(txt|text)$/i.test(o.data);
    const docs = isText ? readTextDocuments(o.data, model.tokenizer, o.split ?? 'lines') : readTokenDocuments(o.data, model.config.vocabSize);
    const includeBos = o.includeBos ?? false;
    // Logits of every variant are held at once: keep a batch's logits near 2^22 floats.
    const limits = { maxTokens: Math.max(64, Math.min(8192, Math.floor((1 << 22) / model.config.vocabSize))), maxScores: 1 << 24 };
    // Whole windows until about maxTokens positions are counted.
    let total = 0;
    const counted = (w: TokenWindow): number => positionMask([w], w.tokens.length, model.tokenizer.bos, includeBos).count;
    const taken = (function* (): Generator<TokenWindow> {
      for (const w of windows(docs, o.context, model.tokenizer.bos)) {
        if (o.maxTokens !== undefined && total >= o.maxTokens) return;
        total += counted(w);
        yield w;
      }
    })();
    const batches = [...batchWindows(taken, model.config.nHeads, limits)];
    if (total === 0) throw new DataError(`${o.data}: no position to evaluate (documents of one token${includeBos ? '' : ', or BOS only'}).`, 'Pass longer documents.');
    // With workers, this thread needs no kernels (nor a copy of the weights) of its own.
    pool = await openForwardPool(model, o.threads ?? 1);
    const fast = pool !== null || model.fastCore() !== null;
    const meanValues = await hookMean(model, pool, batches, hook, includeBos);
    const mean = tf.tensor1d(meanValues);
    const sums = new Float64Array(7);
    let done = 0;
    try {
      for (const batch of batches) {
        if (fast) {
          const { longest, acts } = pool ? await pool.readHooks(batch, [hook]) : await readHooks(model, batch, [hook]);
          (await splicedRowSums(model, pool, sae, hook, batch, acts[0]!, longest, meanValues, includeBos)).forEach((v, i) => (sums[i] += v));
          done += positionMask(batch, longest, model.tokenizer.bos, includeBos).count;
          o.onProgress?.(done, total, (Date.now() - started) / 1000);
          continue;
        }
        const tokens = paddedTokens(batch);
        const longest = tokens.shape[1];
        const { mask, targets, count } = positionMask(batch, longest, model.tokenizer.bos, includeBos);
        const splice = new Float32Array(batch.length * longest).fill(1);
        if (!includeBos) batch.forEach((w, i) => w.tokens.forEach((t, p) => t === model.tokenizer.bos && (splice[i * longest + p] = 0)));
        const inputs = [tokens, tf.tensor2d(mask, [batch.length, longest]), tf.tensor3d(splice, [batch.length, longest, 1]), tf.tensor2d(targets, [batch.length, longest], 'int32')] as const;
        const out = batchSums(model, sae, hook, inputs[0], inputs[1], inputs[2], inputs[3], mean);
        (await out.data()).forEach((v, i) => (sums[i] += v));
        tf.dispose([out, ...inputs]);
        done += count;
        o.onProgress?.(done, total, (Date.now() - started) / 1000);
      }
    } finally {
      mean.dispose();
    }
    const avg: SpliceAverages = {
      ceClean: sums[0]! / done,
      ceSae: sums[1]! / done,
      ceZero: sums[2]! / done,
      ceMean: sums[3]! / done,
      klSae: sums[4]! / done,
      klZero: sums[5]! / done,
      klMean: sums[6]! / done,
    };
    return { model: o.model, data: o.data, hook, tokens: done, includeBos, context: o.context, ...avg, ...downstreamScores(avg), seconds: (Date.now() - started) / 1000 };
  } finally {
    await pool?.dispose();
    sae.dispose();
    model.dispose();
  }
}

/** `sae eval <run> --model`: the run's final dictionary at the run's hook (or `hook`). */
export async function evaluateRunWithModel(run: string, o: ModelEvalOptions): Promise<ModelEvalReport & { run: string }> {
  const dict = readFinalWeights(run);
  const cfgHook = dict.cfg['hook_name'];
  const runHook = typeof cfgHook === 'string' && cfgHook.length > 0 ? cfgHook : hookNameFrom({});
  return { run: path.resolve(run), ...(await evaluateWithModel(dict.weights, runHook, o)) };
}

/** Human-readable report. */
export function formatModelEval(r: ModelEvalReport): string {
  const f = (x: number | null, digits = 4): string => (x === null ? 'undefined' : x.toFixed(digits));
  const lines = [
    `${r.hook} of ${path.basename(r.model)}, ${r.tokens} tokens of ${path.basename(r.data)} (context ${r.context}, BOS ${r.includeBos ? 'included' : 'excluded'})`,
    `  CE clean          ${f(r.ceClean)} nats/token`,
    `  CE with SAE       ${f(r.ceSae)}   delta CE ${f(r.deltaCe)}`,
    `  CE zero-ablated   ${f(r.ceZero)}`,
    `  CE mean-ablated   ${f(r.ceMean)}`,
    `  ceLossScore       ${f(r.ceLossScore)} (zero baseline)   ${f(r.ceLossScoreMean)} (mean baseline)`,
    `  KL(clean||SAE)    ${f(r.klSae)}   zero ${f(r.klZero)}   mean ${f(r.klMean)}`,
    `  klDivScore        ${f(r.klDivScore)}`,
  ];
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
