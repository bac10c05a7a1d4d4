import * as tf from '../../src/backend/tfjs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { causalAttention, type AttentionShape } from '../../src/model/fast/attention-reference.js';
import { instantiateKernels, KernelLayout } from '../../src/model/fast/kernels.js';
import { HOOK_KINDS } from '../../src/model/hooks.js';
import { KvCache } from '../../src/model/kv-cache.js';
import type { LlamaModel } from '../../src/model/llama.js';
import { loadModel } from '../../src/model/load.js';
import { Rng } from '../../src/util/rng.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { maxAbsDiff } from '../helpers/tensors.js';
import { STORIES_260K, TINY_SHAPE, writeTinyModel } from './model-files.js';

// One reference, one optimisation: the fast no-gradient path (fast/forward.ts) against the tfjs
// path (LlamaModel.forward without `fast`), over models of different shapes.
const dir = tmpDir('sae-fast-');
const models: Record<string, LlamaModel> = {};
beforeAll(async () => {
  await initBackend('wasm');
  models['stories260K (8 heads, 4 kv heads, head 8)'] = loadModel(STORIES_260K);
  models['tiny (4 heads, 2 kv heads, head 4)'] = loadModel(writeTinyModel(dir, 'tiny.gguf'));
  // Widths that are not multiples of the SIMD blocks: head 6, ffn 10, projections 42 wide.
  models['odd (2 heads, 1 kv head, head 6)'] = loadModel(writeTinyModel(dir, 'odd.gguf', undefined, { ...TINY_SHAPE, dModel: 12, nHeads: 2, nKvHeads: 1, ffnDim: 10 }));
});
afterAll(() => {
  for (const m of Object.values(models)) m.dispose();
  rmTmp(dir);
});

/**
 * Float32 agreement: |got - ref| <= 1e-5 * max(1, max |ref|). The two paths sum in different
 * orders; tfjs's own wasm and cpu backends differ by as much on stories260K's logits (2.3e-5 at
 * |logit| up to 19, i.e. 1.2e-6 of the scale).
 */
function expectClose(got: Float32Array, ref: Float32Array, label: string): void {
  const scale = Math.max(1, ...Array.from(ref, Math.abs));
  expect(maxAbsDiff(got, ref) / scale, label).toBeLessThan(1e-5);
}

/** Right-padded random token ids of the given lengths, BOS first. */
function batchOf(lengths: number[], vocab: number, seed: number): { ids: tf.Tensor2D; lengths: number[] } {
  const rng = new Rng(seed);
  const longest = Math.max(...lengths);
  const ids = new Int32Array(lengths.length * longest);
  lengths.forEach((l, b) => {
    for (let t = 0; t < l; t++) ids[b * longest + t] = t === 0 ? 1 : 3 + rng.int(vocab - 3);
  });
  return { ids: tf.tensor2d(ids, [lengths.length, longest], 'int32'), lengths };
}

/** The real (unpadded) rows of x [batch, seq, width]. */
function realRows(x: Float32Array, lengths: number[], seq: number, width: number): Float32Array {
  return Float32Array.from(lengths.flatMap((l, b) => Array.from(x.subarray(b * seq * width, (b * seq + l) * width))));
}

const CASES = [
  { name: 'one sequence', lengths: [37] },
  { name: 'a padded batch', lengths: [23, 5, 40, 1] },
];

describe('the fast forward path matches the tfjs path', () => {
  for (const { name, lengths } of CASES) {
    it(`logits and every hook, ${name}, on every model shape`, () => {
      for (const [label, model] of Object.entries(models)) {
        const before = tf.memory().numTensors;
        const { ids } = batchOf(lengths, model.config.vocabSize, 7);
        const seq = ids.shape[1];
        const d = model.config.dModel;
        const run = (fast: boolean): Record<string, Float32Array> => {
          const seen: Record<string, Float32Array> = {};
          const hooks = Object.fromEntries(
            Array.from({ length: model.config.nLayers }, (_, l) => HOOK_KINDS.map((k) => `blocks.${l}.hook_${k}`))
              .flat()
              .map((h) => [h, (x: tf.Tensor3D) => void (seen[h] = realRows(x.dataSync() as Float32Array, lengths, seq, d))]),
          );
          const logits = tf.tidy(() => model.forward(ids, { hooks, fast, lengths: fast ? lengths : undefined })!);
          seen['logits'] = realRows(logits.dataSync() as Float32Array, lengths, seq, model.config.vocabSize);
          logits.dispose();
          return seen;
        };
        const ref = run(false);
        const got = run(true);
        expect(Object.keys(got).sort()).toEqual(Object.keys(ref).sort());
        for (const k of Object.keys(ref)) expectClose(got[k]!, ref[k]!, `${label}: ${k}`);
        // Without lengths the padding is computed too, and the real rows are the same.
        const padded = tf.tidy(() => model.forward(ids, { fast: true })!);
        expectClose(realRows(padded.dataSync() as Float32Array, lengths, seq, model.config.vocabSize), ref['logits']!, label);
        padded.dispose();
        ids.dispose();
        expect(tf.memory().numTensors, label).toBe(before);
      }
    });
  }

  it('replaces an activation through a hook and stops early as the tfjs path does', () => {
    const model = models['stories260K (8 heads, 4 kv heads, head 8)']!;
    const before = tf.memory().numTensors;
    const { ids, lengths } = batchOf([12, 30, 7], model.config.vocabSize, 3);
    for (const hook of ['blocks.1.hook_attn_out', 'blocks.2.hook_resid_post', 'blocks.4.hook_mlp_out']) {
      const hooks = { [hook]: (x: tf.Tensor3D) => tf.add(tf.mul(x, 0.5), 0.25) as tf.Tensor3D };
      const [ref, got] = [false, true].map((fast) => {
        const l = tf.tidy(() => model.forward(ids, { hooks, fast, lengths })!);
        const v = realRows(l.dataSync() as Float32Array, lengths, ids.shape[1], model.config.vocabSize);
        l.dispose();
        return v;
      });
      expectClose(got!, ref!, hook);
      expect(model.forward(ids, { stopAfter: hook, fast: true, lengths })).toBeNull();
    }
    expect(() => model.forward(ids, { hooks: { 'blocks.0.hook_resid_pre': () => tf.zeros([1, 2, 3]) as tf.Tensor3D }, fast: true })).toThrow(/expected \[3, 30, 64\]/);
    ids.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('continues from a KV cache one token at a time as in one pass', () => {
    const model = models['odd (2 heads, 1 kv head, head 6)']!;
    const seq = [1, 40, 50, 60, 70, 80, 90];
    const full = tf.tidy(() => model.forward(tf.tensor2d(seq, [1, seq.length], 'int32'))!);
    const cache = new KvCache(model.config.nLayers);
    const parts = [tf.tidy(() => model.forward(tf.tensor2d(seq.slice(0, 3), [1, 3], 'int32'), { cache, fast: true })!)];
    for (let i = 3; i < seq.length; i++) parts.push(tf.tidy(() => model.forward(tf.tensor2d([seq[i]!], [1, 1], 'int32'), { cache, fast: true })!));
    const stepped = tf.concat(parts, 1);
    expectClose(stepped.dataSync() as Float32Array, full.dataSync() as Float32Array, 'cached');
    tf.dispose([full, stepped, ...parts]);
    cache.dispose();
  });
});

describe('the SIMD attention kernel', () => {
  const shapes: AttentionShape[] = [
    { batch: 2, seq: 9, past: 0, nHeads: 8, nKvHeads: 4, headDim: 8 },
    { batch: 1, seq: 3, past: 6, nHeads: 3, nKvHeads: 3, headDim: 5 },
    { batch: 3, seq: 1, past: 0, nHeads: 4, nKvHeads: 1, headDim: 12 },
  ];
  it.each(shapes)('matches the plain loops: %o', (s) => {
    const { kernels } = instantiateKernels();
    expect(kernels).not.toBeNull();
    const rng = new Rng(11);
    const keys = s.past + s.seq;
    const q = rng.fillNormal(new Float32Array(s.batch * s.seq * s.nHeads * s.headDim));
    const k = rng.fillNormal(new Float32Array(s.batch * s.nKvHeads * keys * s.headDim)).map((x) => 3 * x);
    const v = rng.fillNormal(new Float32Array(k.length));
    const layout = new KernelLayout(kernels!, 65536);
    for (const [n, size] of [['q', q.length], ['k', k.length], ['v', v.length], ['out', q.length], ['scratch', (s.headDim + 4) * (keys + 7) + 4 * s.headDim]] as const) layout.reserve(n, size);
    const a = layout.commit();
    a['q']!.view.set(q);
    a['k']!.view.set(k);
    a['v']!.view.set(v);
    kernels!.attention(s.batch, s.seq, s.past, s.nHeads, s.nKvHeads, s.headDim, a['q']!.ptr, a['k']!.ptr, a['v']!.ptr, a['out']!.ptr, a['scratch']!.ptr);
    expect(maxAbsDiff(a['out']!.view, causalAttention(q, k, v, s))).toBeLessThan(1e-6);
  });
});
