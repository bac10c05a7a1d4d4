import path from 'node:path';
import * as tf from '../../src/backend/tfjs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { checkEdits, editActivation, parseEdits, type FeatureEdit } from '../../src/interventions/edits.js';
import { editHooks, editMask } from '../../src/interventions/hooks.js';
import { klRows } from '../../src/interventions/kl.js';
import { sampleToken } from '../../src/interventions/sample.js';
import { encodePrompt, openSession, type InterventionSession } from '../../src/interventions/session.js';
import { steer, type SteerOptions } from '../../src/interventions/steer.js';
import { targetToken } from '../../src/interventions/target.js';
import { generateGreedy } from '../../src/model/generate.js';
import { Rng } from '../../src/util/rng.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { randomWeights } from '../helpers/tensors.js';
import { makeFakeRun } from '../io/fake-run.js';
import { STORIES_260K } from '../model/model-files.js';

const dir = tmpDir('sae-edits-');
const run = makeFakeRun(path.join(dir, 'run'), randomWeights(64, 256, 7));
const PROMPT = 'Lily went to the park. She saw a big dog';
let s: InterventionSession;
let tokens: number[];

beforeAll(async () => {
  s = await openSession({ run, model: STORIES_260K, backend: 'wasm' });
  tokens = encodePrompt(s.model, PROMPT);
});
afterAll(() => {
  s.dispose();
  rmTmp(dir);
});

/** Logits [T, vocab] of the prompt with `edits` where `mask` is 1 (every position by default). */
function logits(edits: FeatureEdit[], mask = new Float32Array(tokens.length).fill(1)): Float32Array {
  return tf.tidy(() => s.model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'), { hooks: editHooks(s.sae, s.hook.name, edits, mask) })!.dataSync() as Float32Array);
}

/** Feature i's activation at every prompt position, computed as editActivation computes it. */
function ownActivations(i: number): Float32Array {
  let x: tf.Tensor2D | null = null;
  tf.tidy(() => {
    s.model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'), { stopAfter: s.hook.name, hooks: { [s.hook.name]: (a) => void (x = tf.keep(tf.reshape(a, [tokens.length, 64]) as tf.Tensor2D)) } });
  });
  const f = tf.tidy(() => {
    const idx = tf.tensor1d([i], 'int32');
    return tf.relu(tf.add(tf.matMul(tf.sub(x!, s.sae.b_dec), tf.gather(s.sae.W_enc, idx, 1)), tf.gather(s.sae.b_enc, idx))).dataSync() as Float32Array;
  });
  x!.dispose();
  return f;
}

describe('feature edits at the hook (error term kept)', () => {
  it('no edit, --scale I=1 and --set I=<its own value> leave the logits bit-identical to the plain model', () => {
    const before = tf.memory().numTensors;
    const plain = logits([]);
    const direct = tf.tidy(() => s.model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'))!.dataSync());
    expect(plain).toEqual(direct);
    expect(logits([{ kind: 'scale', feature: 3, value: 1 }, { kind: 'scale', feature: 200, value: 1 }])).toEqual(plain);
    // A feature active somewhere: clamp it to its own activation at that position only.
    const active = Array.from({ length: 256 }, (_, i) => i).find((i) => ownActivations(i).some((v, p) => p > 0 && v > 0))!;
    const own = ownActivations(active);
    const p = own.findIndex((v, q) => q > 0 && v > 0);
    const mask = new Float32Array(tokens.length);
    mask[p] = 1;
    expect(logits([{ kind: 'set', feature: active, value: own[p]! }], mask)).toEqual(plain);
    // ...and any other value changes them, from that position on only.
    const moved = logits([{ kind: 'set', feature: active, value: own[p]! + 2 }], mask);
    const V = s.model.config.vocabSize;
    expect(moved.subarray(0, p * V)).toEqual(plain.subarray(0, p * V));
    expect(moved.subarray(p * V)).not.toEqual(plain.subarray(p * V));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('changes the activation only where the mask is 1, by exactly (f\' - f) W_dec and C W_dec[i]', () => {
    const n = 6;
    const x = tf.randomNormal([n, 64], 0, 3, 'float32', 5) as tf.Tensor2D;
    const mask = tf.tensor2d([1, 0, 1, 0, 0, 1], [n, 1]);
    const out = editActivation(s.sae, x, [{ kind: 'ablate', feature: 10, value: 0 }, { kind: 'add', feature: 20, value: 2.5 }], mask);
    const [xv, ov] = [x.dataSync(), out.dataSync()];
    const f10 = tf.tidy(() => tf.relu(tf.add(tf.matMul(tf.sub(x, s.sae.b_dec), s.sae.W_enc), s.sae.b_enc)).dataSync());
    const W = s.weights.W_dec;
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < 64; j++) {
        const expected = [0, 2, 5].includes(r) ? xv[r * 64 + j]! - f10[r * 256 + 10]! * W[10 * 64 + j]! + 2.5 * W[20 * 64 + j]! : xv[r * 64 + j]!;
        if ([0, 2, 5].includes(r)) expect(ov[r * 64 + j]!).toBeCloseTo(expected, 5);
        else expect(ov[r * 64 + j]).toBe(expected);
      }
    }
    tf.dispose([x, mask, out]);
  });

  it('edits only the positions asked for; BOS is left alone unless asked', () => {
    const bos = s.model.tokenizer.bos;
    const ids = [bos, 5, 6, 7];
    expect(Array.from(editMask(ids, 0, 3, 'all', bos, false))).toEqual([0, 1, 1, 1]);
    expect(Array.from(editMask(ids, 0, 3, 'all', bos, true))).toEqual([1, 1, 1, 1]);
    expect(Array.from(editMask(ids, 0, 3, 'prompt', bos, false))).toEqual([0, 1, 1, 0]);
    expect(Array.from(editMask(ids, 0, 3, 'generated', bos, false))).toEqual([0, 0, 0, 1]);
    // A generated token fed back one at a time, at position 5 of a 3-token prompt.
    expect(Array.from(editMask([9], 5, 3, 'prompt', bos, false))).toEqual([0]);
    expect(Array.from(editMask([9], 5, 3, 'generated', bos, false))).toEqual([1]);
  });

  it('KL of a distribution with itself is 0, and matches a hand computation', () => {
    const lp = tf.logSoftmax(tf.tensor2d([[1, 2, 3], [0, 0, 5]]));
    expect(Array.from(klRows(lp as tf.Tensor2D, lp as tf.Tensor2D).dataSync())).toEqual([0, 0]);
    const p = tf.log(tf.tensor2d([[0.5, 0.5]]));
    const q = tf.log(tf.tensor2d([[0.9, 0.1]]));
    expect(klRows(p as tf.Tensor2D, q as tf.Tensor2D).dataSync()[0]).toBeCloseTo(0.5 * Math.log(0.5 / 0.9) + 0.5 * Math.log(0.5 / 0.1), 6);
    tf.dispose([lp, p, q]);
  });

  it('samples greedily at temperature 0 and from softmax(logits / t) with a seed', () => {
    expect(sampleToken([0.1, 3, 2, 3], 0, new Rng(1))).toBe(1);
    const logit = [Math.log(0.2), Math.log(0.5), Math.log(0.3)];
    const draw = (seed: number) => Array.from({ length: 3000 }, ((r) => () => sampleToken(logit, 1, r))(new Rng(seed)));
    expect(draw(4)).toEqual(draw(4));
    const counts = [0, 0, 0];
    for (const t of draw(4)) counts[t]!++;
    expect(counts[0]! / 3000).toBeCloseTo(0.2, 1);
    expect(counts[1]! / 3000).toBeCloseTo(0.5, 1);
    // Temperature 2 flattens: softmax(log p / 2) is proportional to sqrt(p).
    const flat = [0, 0, 0];
    const r = new Rng(9);
    for (let k = 0; k < 3000; k++) flat[sampleToken(logit, 2, r)]!++;
    const z = Math.sqrt(0.2) + Math.sqrt(0.5) + Math.sqrt(0.3);
    expect(flat[0]! / 3000).toBeCloseTo(Math.sqrt(0.2) / z, 1);
  });
});

describe('steer', () => {
  const base: SteerOptions = { run, model: STORIES_260K, prompt: 'Once upon a time', tokens: 12, edits: [], positions: 'all', includeBos: false, temperature: 0, seed: 1, compare: true, backend: 'wasm' };

  it('without edits continues exactly as plain greedy generation, with KL 0 everywhere', async () => {
    const r = await steer(base);
    const prompt = s.model.tokenizer.encode('Once upon a time');
    expect(r.steered.ids).toEqual((await generateGreedy(s.model, prompt, prompt.length + 12)).slice(prompt.length));
    expect(r.unsteered!.ids).toEqual(r.steered.ids);
    expect(r.promptKl!.map((k) => k.kl)).toEqual([0, 0, 0, 0, 0]);
  });

  it('with --positions generated leaves the prompt (and the first generated token) as it was; with prompt, changes it', async () => {
    const edits: FeatureEdit[] = [{ kind: 'add', feature: 4, value: 40 }];
    const gen = await steer({ ...base, edits, positions: 'generated' });
    expect(gen.promptKl!.every((k) => k.kl === 0)).toBe(true);
    expect(gen.steered.ids[0]).toBe(gen.unsteered!.ids[0]);
    expect(gen.steered.ids).not.toEqual(gen.unsteered!.ids);
    const prompt = await steer({ ...base, edits, positions: 'prompt' });
    expect(prompt.promptKl![0]!.kl).toBe(0); // BOS, left alone
    expect(prompt.promptKl!.slice(1).every((k) => k.kl > 1e-3)).toBe(true);
  });

  it('samples the same text for the same seed and another for another seed', async () => {
    const a = await steer({ ...base, temperature: 1, seed: 3, tokens: 20, compare: false });
    const b = await steer({ ...base, temperature: 1, seed: 3, tokens: 20, compare: false });
    const c = await steer({ ...base, temperature: 1, seed: 4, tokens: 20, compare: false });
    expect(b.steered.ids).toEqual(a.steered.ids);
    expect(c.steered.ids).not.toEqual(a.steered.ids);
  });
});

describe('bad input', () => {
  it('parses edits and refuses malformed ones, indices out of range and conflicting edits', () => {
    expect(parseEdits({ set: ['17=4.0'], scale: ['3=-2e-1'], ablate: ['392'], add: ['5=8'] })).toEqual([
      { kind: 'set', feature: 17, value: 4 },
      { kind: 'scale', feature: 3, value: -0.2 },
      { kind: 'ablate', feature: 392, value: 0 },
      { kind: 'add', feature: 5, value: 8 },
    ]);
    expect(() => parseEdits({ set: ['17'] })).toThrow(/--set '17': expected FEATURE=VALUE/);
    expect(() => parseEdits({ ablate: ['x'] })).toThrow(ConfigError);
    expect(() => checkEdits([{ kind: 'ablate', feature: 256, value: 0 }], 256, 'runs/x')).toThrow(/feature 256 does not exist in runs\/x: the dictionary has 256 features \(0-255\)/);
    expect(() => checkEdits([{ kind: 'set', feature: 2, value: 1 }, { kind: 'ablate', feature: 2, value: 0 }], 256, 'r')).toThrow(/--set and --ablate both edit feature 2/);
    expect(() => checkEdits([{ kind: 'set', feature: 2, value: 1 }, { kind: 'add', feature: 2, value: 1 }], 256, 'r')).not.toThrow();
  });

  it('says how a multi-token target tokenizes, and refuses an empty prompt', () => {
    const t = s.model.tokenizer;
    expect(t.piece(targetToken(t, ' Lily'))).toBe(' Lily');
    expect(() => targetToken(t, ' Lily went')).toThrow(/--target " Lily went" is not a single token of this model: it tokenizes as 3 tokens, " Lily" " w" "ent"/);
    expect(() => encodePrompt(s.model, '  ')).toThrow(/--prompt is empty/);
  });
});
