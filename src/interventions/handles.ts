import path from 'node:path';
import * as tf from '../backend/tfjs.js';
import type { BackendChoice } from '../backend/select.js';
import { DataError } from '../errors.js';
import { batchWindows, readHooks } from '../model/batches.js';
import { windows, type TextSplit, type TokenWindow } from '../model/documents.js';
import { Rng } from '../util/rng.js';
import { changeEntropy, spread, topShare, type Spread } from './concentration.js';
import { perturbedLogProbs } from './perturb.js';
import { openSession, readDocuments, type InterventionSession } from './session.js';

export interface HandlesOptions {
  run: string;
  model: string;
  /** Held-out token source (Arrow with token_id/doc_id/pos, or .txt). */
  data: string;
  split?: TextSplit;
  context?: number;
  maxTokens?: number;
  /** Positions sampled for interventions. */
  positions?: number;
  /** Tokens whose share of the total |dlogp| is reported. */
  topK?: number;
  seed?: number;
  hook?: string;
  backend?: BackendChoice;
}

/** Per-unit averages of one kind of unit, summarised over the units. */
export interface HandleStats {
  /** Units intervened on at least once, and interventions in all. */
  units: number;
  interventions: number;
  /**
   * Share of the total |dlogp| carried by the topK most affected tokens, and the entropy of |dlogp|
   * normalised (nats; log(vocab) is perfectly spread); per unit, averaged over its interventions.
   * Every token's log-probability also moves by the change of the softmax normaliser, which spreads
   * |dlogp| over the whole vocabulary; the same two numbers of |dp| (where probability mass moves) do not.
   */
  topShareLogp: Spread;
  entropyLogp: Spread;
  topShareProb: Spread;
  entropyProb: Spread;
  /** KL(clean || intervened) of the next-token distribution, nats. */
  kl: Spread;
}

export interface HandlesReport {
  run: string;
  model: string;
  data: string;
  hook: string;
  /** Sampled positions and tokens read. */
  positions: number;
  /** Where they are: the document, the position in its window (windows after a document's first start with BOS), the token. */
  sampled: { docId: number; position: number; token: string }[];
  tokens: number;
  topK: number;
  /** log(vocab): the entropy of a change spread evenly over the vocabulary. */
  maxEntropy: number;
  /** Mean norm of the activation change per intervention (both kinds are scaled to the same norm at each position). */
  meanNormChange: number;
  features: HandleStats;
  neurons: HandleStats;
}

const MEASURES = ['topShareLogp', 'entropyLogp', 'topShareProb', 'entropyProb', 'kl'] as const;
type Measure = (typeof MEASURES)[number];
type Accum = Record<Measure, number[]>;

function add(map: Map<number, Accum>, unit: number, values: Record<Measure, number>): void {
  const a = map.get(unit) ?? { topShareLogp: [], entropyLogp: [], topShareProb: [], entropyProb: [], kl: [] };
  for (const k of MEASURES) a[k].push(values[k]);
  map.set(unit, a);
}

function summarise(map: Map<number, Accum>): HandleStats {
  const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const units = [...map.values()];
  const over = (k: Measure) => spread(units.map((a) => avg(a[k])));
  return {
    units: units.length,
    interventions: units.reduce((n, a) => n + a.kl.length, 0),
    topShareLogp: over('topShareLogp'),
    entropyLogp: over('entropyLogp'),
    topShareProb: over('topShareProb'),
    entropyProb: over('entropyProb'),
    kl: over('kl'),
  };
}

/** Mean and standard deviation of each coordinate over the non-BOS positions. acts [n, d] */
function coordinateMoments(acts: Float32Array[], ws: TokenWindow[][], longest: number[], d: number, bos: number): { mean: Float64Array; std: Float64Array } {
  const sum = new Float64Array(d);
  const sq = new Float64Array(d);
  let n = 0;
  ws.forEach((batch, k) =>
    batch.forEach((w, b) => {
      for (let p = 0; p < w.tokens.length; p++) {
        if (w.tokens[p] === bos) continue;
        const o = (b * longest[k]! + p) * d;
        for (let j = 0; j < d; j++) {
          sum[j] += acts[k]![o + j]!;
          sq[j] += acts[k]![o + j]! ** 2;
        }
        n++;
      }
    }),
  );
  const mean = Float64Array.from(sum, (s) => s / n);
  return { mean, std: Float64Array.from(sq, (s, j) => Math.sqrt(Math.max(0, s / n - mean[j]! ** 2))) };
}

/**
 * Interventions at one position: ablate each active feature (remove f_i W_dec[i]), and move each
 * active basis direction (|x_j - mean_j| > std_j) toward its mean by R, the mean norm of the
 * feature ablations there, so both kinds change the activation by the same norm on average.
 * Measures the change of the next-token log-probabilities at that position.
 */
async function interveneAt(s: InterventionSession, tokens: number[], x: Float32Array, moments: { mean: Float64Array; std: Float64Array }, topK: number, features: Map<number, Accum>, neurons: Map<number, Accum>): Promise<number> {
  const d = s.weights.d;
  const m = s.weights.m;
  const { W_enc, b_enc, W_dec, b_dec } = s.weights;
  const active: { unit: number; delta: Float64Array }[] = [];
  let normSum = 0;
  for (let i = 0; i < m; i++) {
    let pre = b_enc[i]!;
    for (let j = 0; j < d; j++) pre += (x[j]! - b_dec[j]!) * W_enc[j * m + i]!;
    if (pre <= 0) continue;
    const delta = Float64Array.from(W_dec.subarray(i * d, (i + 1) * d), (w) => -pre * w);
    normSum += Math.hypot(...delta);
    active.push({ unit: i, delta });
  }
  if (active.length === 0) return 0;
  const R = normSum / active.length;
  const nFeatures = active.length;
  for (let j = 0; j < d; j++) {
    const z = x[j]! - moments.mean[j]!;
    if (Math.abs(z) <= moments.std[j]!) continue;
    const delta = new Float64Array(d);
    delta[j] = -Math.sign(z) * R;
    active.push({ unit: j, delta });
  }
  const T = tokens.length;
  const rows = active.length + 1;
  const deltas = new Float32Array(rows * T * d);
  active.forEach((a, r) => deltas.set(a.delta, ((r + 1) * T + T - 1) * d));
  const lp = tf.tidy(() => tf.reshape(tf.slice(perturbedLogProbs(s.model, s.hook.name, tokens, deltas, rows), [0, T - 1, 0], [rows, 1, -1]), [rows, -1]));
  const v = (await lp.data()) as Float32Array;
  lp.dispose();
  const V = s.model.config.vocabSize;
  const clean = v.subarray(0, V);
  active.forEach((a, r) => {
    const row = v.subarray((r + 1) * V, (r + 2) * V);
    const dl = Float64Array.from(row, (q, t) => q - clean[t]!);
    const dp = Float64Array.from(row, (q, t) => Math.exp(q) - Math.exp(clean[t]!));
    let kl = 0;
    for (let t = 0; t < V; t++) kl += Math.exp(clean[t]!) * (clean[t]! - row[t]!);
    add(r < nFeatures ? features : neurons, a.unit, {
      topShareLogp: topShare(dl, topK),
      entropyLogp: changeEntropy(dl),
      topShareProb: topShare(dp, topK),
      entropyProb: changeEntropy(dp),
      kl: Math.max(0, kl),
    });
  });
  return R;
}

/**
 * `sae eval --interventions`: single SAE features vs single basis directions of the activation
 * space as handles on the model, at positions sampled from held-out text.
 */
export async function compareHandles(o: HandlesOptions): Promise<HandlesReport> {
  const s = await openSession(o);
  try {
    const { model } = s;
    const d = model.config.dModel;
    const bos = model.tokenizer.bos;
    const docs = readDocuments(o.data, model, o.split);
    const ws: TokenWindow[] = [];
    let read = 0;
    for (const w of windows(docs, o.context ?? 64, bos)) {
      if (read >= (o.maxTokens ?? 2048)) break;
      ws.push(w);
      read += w.tokens.length;
    }
    const batches = [...batchWindows(ws, model.config.nHeads)];
    const acts: Float32Array[] = [];
    const longest: number[] = [];
    for (const b of batches) {
      const r = await readHooks(model, b, [s.hook.name]);
      acts.push(r.acts[0]!);
      longest.push(r.longest);
    }
    const moments = coordinateMoments(acts, batches, longest, d, bos);
    const candidates: [number, number, number][] = [];
    batches.forEach((batch, k) => batch.forEach((w, b) => w.tokens.forEach((t, p) => t !== bos && candidates.push([k, b, p]))));
    if (candidates.length === 0) throw new DataError(`${o.data}: no position to intervene at (only BOS tokens).`, 'Pass longer documents.');
    const rng = new Rng(o.seed ?? 1);
    const wanted = Math.min(o.positions ?? 32, candidates.length);
    for (let i = 0; i < wanted; i++) {
      const j = i + rng.int(candidates.length - i);
      [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    }
    const features = new Map<number, Accum>();
    const neurons = new Map<number, Accum>();
    const topK = o.topK ?? 5;
    let normSum = 0;
    let used = 0;
    const sampled: HandlesReport['sampled'] = [];
    for (const [k, b, p] of candidates.slice(0, wanted)) {
      const w = batches[k]![b]!;
      sampled.push({ docId: w.docId, position: p, token: model.tokenizer.piece(w.tokens[p]!) });
      const o2 = (b * longest[k]! + p) * d;
      const R = await interveneAt(s, Array.from(w.tokens.subarray(0, p + 1)), acts[k]!.subarray(o2, o2 + d), moments, topK, features, neurons);
      if (R > 0) {
        normSum += R;
        used++;
      }
    }
    return {
      run: o.run,
      model: o.model,
      data: o.data,
      hook: s.hook.name,
      positions: used,
      sampled,
      tokens: read,
      topK,
      maxEntropy: Math.log(model.config.vocabSize),
      meanNormChange: used ? normSum / used : 0,
      features: summarise(features),
      neurons: summarise(neurons),
    };
  } finally {
    s.dispose();
  }
}

/** The comparison as text. */
export function formatHandles(r: HandlesReport): string {
  const q = (x: Spread) => `${x.median.toFixed(3)} [${x.p25.toFixed(3)}, ${x.p75.toFixed(3)}]`;
  const row = (name: string, k: Exclude<keyof HandleStats, 'units' | 'interventions'>) => `  ${name.padEnd(30)} ${q(r.features[k]).padEnd(26)} ${q(r.neurons[k])}`;
  return [
    `features vs basis directions as handles at ${r.hook} of ${path.basename(r.model)}: ${r.positions} positions sampled from ${r.tokens} tokens of ${path.basename(r.data)}`,
    `  each active feature ablated (f_i W_dec[i] removed); each basis direction beyond one std of its mean moved toward it by`,
    `  the same norm (the position's mean feature-ablation norm, ${r.meanNormChange.toFixed(3)} on average); effect on the next token there.`,
    `  Per unit, averaged over its interventions; median [p25, p75] over units. Evenly spread: top-${r.topK} share ${(r.topK / Math.exp(r.maxEntropy)).toFixed(3)}, entropy ${r.maxEntropy.toFixed(3)} nats.`,
    `  ${''.padEnd(30)} ${`SAE features`.padEnd(26)} basis directions`,
    `  ${'units (interventions)'.padEnd(30)} ${`${r.features.units} (${r.features.interventions})`.padEnd(26)} ${r.neurons.units} (${r.neurons.interventions})`,
    row(`top-${r.topK} share of |dlogp|`, 'topShareLogp'),
    row('entropy of |dlogp| (nats)', 'entropyLogp'),
    row(`top-${r.topK} share of |dp|`, 'topShareProb'),
    row('entropy of |dp| (nats)', 'entropyProb'),
    row('KL(clean || edited) (nats)', 'kl'),
  ].join('\n');
}
