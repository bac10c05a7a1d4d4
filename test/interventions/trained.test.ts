import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../../src/backend/tfjs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attributions, measureAblations } from '../../src/interventions/attribute.js';
import { perturbedLogProbs, setDelta } from '../../src/interventions/perturb.js';
import { encodePrompt, openSession, type InterventionSession } from '../../src/interventions/session.js';
import { editHooks } from '../../src/interventions/hooks.js';
import { featureOutputEffects } from '../../src/interventions/feature-effects.js';
import { compareHandles } from '../../src/interventions/handles.js';
import { klRows } from '../../src/interventions/kl.js';
import { readTokenDocuments } from '../../src/model/documents.js';
import { decoderTokenEffects } from '../../src/report/token-effects.js';
import { Rng } from '../../src/util/rng.js';
import { FIXTURE_EVAL, rmTmp, tmpDir } from '../helpers/cli.js';
import { STORIES_260K } from '../model/model-files.js';
import { trainSmallRun } from './trained-run.js';

// Attribution, feature effects and the handles comparison on one small trained dictionary
// (training it once per file keeps the suite fast).
const dir = tmpDir('sae-interventions-');
let s: InterventionSession;
let run: string;
beforeAll(async () => {
  run = await trainSmallRun(path.join(dir, 'run'));
  s = await openSession({ run, model: STORIES_260K, backend: 'wasm' });
});
afterAll(() => {
  s?.dispose();
  rmTmp(dir);
});

const PROMPTS = [
  'Lily went to the park. She saw',
  'Once upon a time, there was a little boy named',
  'Tom and Sue were friends. One day, Tom',
  'The cat sat on the',
  'She was very happy and said, "Thank',
  'Ben had a red ball. He liked to',
  'The sun was shining and the birds were',
  'Mom said, "Time for bed." Lily went to her',
];

/** The model's top next token after `tokens`. */
function topToken(tokens: number[]): number {
  return tf.tidy(() => tf.argMax(tf.reshape(tf.slice(s.model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'))!, [0, tokens.length - 1, 0], [1, 1, -1]), [-1])).dataSync()[0]!);
}

describe('attribution at the SAE hook', () => {
  it('activation x gradient matches finite differences of log p(target) along each decoder direction', async () => {
    const tokens = encodePrompt(s.model, PROMPTS[0]!);
    const target = topToken(tokens);
    const { logp, rows } = await attributions(s, tokens, target, false);
    const T = tokens.length;
    const d = s.weights.d;
    const h = 0.02;
    const checked = [...rows.slice(0, 4), ...rows.slice(-2)];
    const deltas = new Float32Array(checked.length * 2 * T * d);
    checked.forEach((r, k) => {
      const dir = s.weights.W_dec.subarray(r.feature * d, (r.feature + 1) * d);
      setDelta(deltas, T, d, 2 * k, r.position, dir, -h);
      setDelta(deltas, T, d, 2 * k + 1, r.position, dir, h);
    });
    const lp = perturbedLogProbs(s.model, s.hook.name, tokens, deltas, checked.length * 2);
    const at = tf.tidy(() => tf.reshape(tf.slice(lp, [0, T - 1, target], [checked.length * 2, 1, 1]), [-1]).dataSync());
    lp.dispose();
    checked.forEach((r, k) => {
      const fd = (at[2 * k]! - at[2 * k + 1]!) / (2 * h);
      const grad = r.attribution / r.activation;
      expect(Math.abs(fd - grad)).toBeLessThan(2e-4 + 0.01 * Math.abs(grad));
    });
    expect(logp).toBeLessThan(0);
    expect(rows.length).toBeGreaterThan(20);
  });

  it('ablating the top-ranked feature lowers log p(target) more than ablating a random active feature (8 prompts, fixed seed)', async () => {
    const rng = new Rng(1);
    let wins = 0;
    const gaps: number[] = [];
    for (const prompt of PROMPTS) {
      const tokens = encodePrompt(s.model, prompt);
      const target = topToken(tokens);
      const { logp, rows } = await attributions(s, tokens, target, false);
      const random = rows[1 + rng.int(rows.length - 1)]!;
      const [top, other] = await measureAblations(s, tokens, target, logp, [rows[0]!, random]);
      if (top! < other!) wins++;
      gaps.push(other! - top!);
    }
    expect(wins).toBeGreaterThanOrEqual(7);
    expect(gaps.reduce((a, b) => a + b, 0) / gaps.length).toBeGreaterThan(0.01);
  });

  it('measures each ablation as its own forward pass would', async () => {
    const tokens = encodePrompt(s.model, PROMPTS[3]!);
    const target = topToken(tokens);
    const { logp, rows } = await attributions(s, tokens, target, false);
    const batched = await measureAblations(s, tokens, target, logp, rows.slice(0, 3), 2);
    for (let k = 0; k < 3; k++) {
      const [alone] = await measureAblations(s, tokens, target, logp, [rows[k]!]);
      expect(batched[k]!).toBeCloseTo(alone!, 5);
    }
  });
});

describe('feature output effects', () => {
  it('measures the ablation where the feature fires as steering with --ablate there does, and the direct effect as the report does', async () => {
    // The feature that fires most often on the first 300 tokens.
    const docs = readTokenDocuments(FIXTURE_EVAL, s.model.config.vocabSize);
    const tokens = Array.from(docs[0]!.tokens.subarray(0, 300));
    let x: tf.Tensor2D | null = null;
    tf.tidy(() => void s.model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'), { hooks: { [s.hook.name]: (a) => void (x = tf.keep(tf.reshape(a, [tokens.length, 64]) as tf.Tensor2D)) } }));
    const f = tf.tidy(() => tf.relu(tf.add(tf.matMul(tf.sub(x!, s.sae.b_dec), s.sae.W_enc), s.sae.b_enc)).arraySync() as number[][]);
    x!.dispose();
    const m = s.weights.m;
    const fires = Array.from({ length: m }, (_, i) => f.filter((row, p) => p > 0 && row[i]! > 0).length);
    const feature = fires.indexOf(Math.max(...fires));

    const e = await featureOutputEffects({ run, model: STORIES_260K, feature, data: FIXTURE_EVAL, context: 300, maxTokens: 300, top: 5, backend: 'wasm' });
    expect(e.measured.positions).toBe(fires[feature]);
    expect(e.measured.tokens).toBe(300);
    // The same ablation through the steering path (editActivation with --ablate at the firing positions).
    const mask = Float32Array.from(f, (row, p) => (p > 0 && row[feature]! > 0 ? 1 : 0));
    const kl = tf.tidy(() => {
      const input = tf.tensor2d(tokens, [1, tokens.length], 'int32');
      const lp = (hooks: ReturnType<typeof editHooks>) => tf.logSoftmax(tf.squeeze(s.model.forward(input, { hooks })!, [0])) as tf.Tensor2D;
      return tf.sum(tf.mul(klRows(lp({}), lp(editHooks(s.sae, s.hook.name, [{ kind: 'ablate', feature, value: 0 }], mask))), tf.tensor1d(mask))).dataSync()[0]!;
    });
    expect(e.measured.meanKl!).toBeGreaterThan(0);
    expect(e.measured.meanKl!).toBeCloseTo(kl / fires[feature]!, 4);
    expect(e.measured.lowered).toHaveLength(5);
    expect(e.measured.lowered[0]!.change).toBeLessThan(0);
    expect(e.measured.raised[0]!.change).toBeGreaterThan(e.measured.raised[4]!.change - 1e-12);

    const [direct] = decoderTokenEffects(s.weights.W_dec.subarray(feature * 64, (feature + 1) * 64), 1, 64, s.model.weights.outputNorm, s.model.weights.wOut, 5);
    expect(e.direct.promoted.map((t) => t.token)).toEqual(direct!.promoted.map((t) => s.model.tokenizer.piece(t.id)));
    expect(e.direct.suppressed[0]!.logit).toBeCloseTo(direct!.suppressed[0]!.logit, 5);
  });
});

describe('features vs basis directions as handles', () => {
  it('intervenes on every active feature and every outlying coordinate at the sampled positions, reproducibly', async () => {
    const o = { run, model: STORIES_260K, data: FIXTURE_EVAL, context: 32, maxTokens: 200, positions: 4, backend: 'wasm' as const };
    const r = await compareHandles(o);
    expect(r.positions).toBe(4);
    expect(r.tokens).toBeGreaterThanOrEqual(200);
    expect(r.maxEntropy).toBeCloseTo(Math.log(512), 12);
    expect(r.meanNormChange).toBeGreaterThan(0);
    for (const h of [r.features, r.neurons]) {
      expect(h.units).toBeGreaterThan(0);
      expect(h.interventions).toBeGreaterThanOrEqual(h.units);
      for (const sp of [h.topShareLogp, h.topShareProb]) {
        expect(sp.p25).toBeGreaterThanOrEqual(5 / 512 - 1e-9);
        expect(sp.p75).toBeLessThanOrEqual(1);
        expect(sp.p25).toBeLessThanOrEqual(sp.median);
      }
      expect(h.entropyLogp.p75).toBeLessThanOrEqual(Math.log(512) + 1e-9);
      expect(h.kl.median).toBeGreaterThanOrEqual(0);
    }
    expect(r.neurons.units).toBeLessThanOrEqual(64);
    expect(await compareHandles(o)).toEqual(r);
  });

  it('ablates exactly the active features and moves exactly the outlying coordinates, by the features\' mean norm', async () => {
    const lines = ['Lily went to the park. She saw a big dog.', 'Tom had a red ball and he liked to play with it.', 'Once upon a time, there was a little cat.'];
    const text = path.join(dir, 'three.txt');
    fs.writeFileSync(text, lines.join('\n') + '\n');
    const r = await compareHandles({ run, model: STORIES_260K, data: text, context: 64, positions: 1, seed: 5, backend: 'wasm' });
    expect(r.sampled).toHaveLength(1);
    const { docId, position } = r.sampled[0]!;
    // Activations at the hook of every line, read independently.
    const acts = lines.map((l) => {
      const ids = s.model.tokenizer.encode(l);
      let x: tf.Tensor2D | null = null;
      tf.tidy(() => void s.model.forward(tf.tensor2d(ids, [1, ids.length], 'int32'), { stopAfter: s.hook.name, hooks: { [s.hook.name]: (a) => void (x = tf.keep(tf.reshape(a, [ids.length, 64]) as tf.Tensor2D)) } }));
      const rows = (x!.arraySync() as number[][]).slice(1); // BOS excluded
      x!.dispose();
      return { ids, rows };
    });
    expect(r.sampled[0]!.token).toBe(s.model.tokenizer.piece(acts[docId]!.ids[position]!));
    const all = acts.flatMap((a) => a.rows);
    const mean = Array.from({ length: 64 }, (_, j) => all.reduce((t, row) => t + row[j]!, 0) / all.length);
    const std = Array.from({ length: 64 }, (_, j) => Math.sqrt(all.reduce((t, row) => t + row[j]! ** 2, 0) / all.length - mean[j]! ** 2));
    const x = acts[docId]!.rows[position - 1]!;
    const outlying = x.filter((v, j) => Math.abs(v - mean[j]!) > std[j]!).length;
    const { W_enc, b_enc, W_dec, b_dec, m } = s.weights;
    const norms: number[] = [];
    for (let i = 0; i < m; i++) {
      let pre = b_enc[i]!;
      for (let j = 0; j < 64; j++) pre += (x[j]! - b_dec[j]!) * W_enc[j * m + i]!;
      if (pre > 0) norms.push(pre * Math.hypot(...W_dec.subarray(i * 64, (i + 1) * 64)));
    }
    expect(r.features.interventions).toBe(norms.length);
    expect(r.neurons.interventions).toBe(outlying);
    expect(r.meanNormChange).toBeCloseTo(norms.reduce((a, b) => a + b, 0) / norms.length, 4);
  });
});
