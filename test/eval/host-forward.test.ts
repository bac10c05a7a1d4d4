import { describe, it, expect, beforeAll, afterAll, afterEach, vi } from 'vitest';
import * as tf from '../../src/backend/tfjs.js';
import { initBackend } from '../../src/backend/select.js';
import type { Batch } from '../../src/data/types.js';
import { evaluateSae } from '../../src/eval/evaluate-sae.js';
import { computeFeatureStats } from '../../src/features/stats.js';
import type { Activation } from '../../src/sae/activation.js';
import { decode, encode, type SaeTensors } from '../../src/sae/forward.js';
import { HostForward } from '../../src/eval/host-forward.js';
import { Rng } from '../../src/util/rng.js';

const d = 24;
const m = 400;

/** An SAE whose features fire on about `density` of the rows (b_enc shifted down). */
function sae(seed: number, shift: number, activation?: Activation): SaeTensors {
  const rng = new Rng(seed);
  const u = (n: number, s = 1) => Float32Array.from({ length: n }, () => (rng.next() - 0.5) * s);
  return {
    W_enc: tf.tensor2d(u(d * m), [d, m]),
    b_enc: tf.tensor1d(u(m, 0.2).map((v) => v + shift)),
    W_dec: tf.tensor2d(u(m * d), [m, d]),
    b_dec: tf.tensor1d(u(d)),
    ...(activation ? { activation } : {}),
  };
}

function rows(n: number, seed: number): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(n * d));
}

function dispose(s: SaeTensors): void {
  tf.dispose([s.W_enc, s.b_enc, s.W_dec, s.b_dec]);
}

const cases: Array<[string, number, Activation | undefined]> = [
  ['relu, about half active (dense decode)', 0, undefined],
  ['relu, under 1/64 active (sparse decode)', -2.4, undefined],
  ['topk k=3 (sparse decode)', 0, { kind: 'topk', k: 3 }],
  ['topk k=60 (dense decode)', 0, { kind: 'topk', k: 60 }],
  ['jumprelu', 0, { kind: 'jumprelu', threshold: Float32Array.from({ length: m }, (_, i) => ((i * 37) % 11) / 20 - 0.1) }],
];

describe('HostForward', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  afterAll(async () => {
    await initBackend('cpu');
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(cases)('encodes and decodes to the bits of tfjs on wasm: %s', async (_name, shift, activation) => {
    const s = sae(7, shift, activation);
    const host = (await HostForward.create(s, 128))!;
    expect(host).not.toBeNull();
    for (const n of [128, 77]) {
      const x = rows(n, n);
      const f = Float32Array.from(host.encode(x, n));
      const xHat = Float32Array.from(host.decode());
      const ft = encode(s, tf.tensor2d(x, [n, d]));
      const fRef = (await ft.data()) as Float32Array;
      const xHatRef = (await decode(s, ft).data()) as Float32Array;
      ft.dispose();
      expect(Array.from(f)).toEqual(Array.from(fRef));
      expect(Array.from(xHat)).toEqual(Array.from(xHatRef));
      const active = f.reduce((c, v) => c + (v !== 0 ? 1 : 0), 0) / f.length;
      expect(active).toBeGreaterThan(0);
    }
    dispose(s);
  });

  it('declines on another backend unless forced, and chunks over its row limit', async () => {
    const s = sae(3, 0);
    await initBackend('cpu');
    try {
      expect(await HostForward.create(s, 8)).toBeNull();
      const forced = (await HostForward.create(s, 8, true))!;
      expect(forced).not.toBeNull();
      expect(() => forced.encode(rows(9, 1), 9)).toThrow(RangeError);
    } finally {
      await initBackend('wasm');
      dispose(s);
    }
  });

  function batches(x: Float32Array, n: number, size: number): () => AsyncIterable<Batch> {
    return async function* () {
      for (let s = 0; s < n; s += size) {
        const b = Math.min(size, n - s);
        yield { x: x.slice(s * d, (s + b) * d), rows: b, d, rowIds: Float64Array.from({ length: b }, (_, i) => s + i), meta: {} };
      }
    };
  }

  it.each([
    ['relu', -1.2, undefined],
    ['topk', 0, { kind: 'topk', k: 5 } as Activation],
  ] as const)('gives evaluateSae and computeFeatureStats the numbers of the tfjs path (%s)', async (_name, shift, activation) => {
    const s = sae(5, shift, activation);
    const n = 700;
    const x = rows(n, 9);
    const create = vi.spyOn(HostForward, 'create');
    const evalHost = await evaluateSae(s, batches(x, n, 300)(), { chunkRows: 256 });
    const statsHost = await computeFeatureStats(s, batches(x, n, 300), { topK: 3, contextTokens: 0, denseThreshold: 0.1, chunkRows: 100 });
    const made = await Promise.all(create.mock.results.map((r) => r.value));
    expect(made.length).toBe(2);
    expect(made.every((h) => h instanceof HostForward)).toBe(true);
    create.mockResolvedValue(null);
    const evalTfjs = await evaluateSae(s, batches(x, n, 300)(), { chunkRows: 256 });
    const statsTfjs = await computeFeatureStats(s, batches(x, n, 300), { topK: 3, contextTokens: 0, denseThreshold: 0.1, chunkRows: 100 });
    expect(evalHost).toEqual(evalTfjs);
    expect(statsHost).toEqual(statsTfjs);
    expect(evalHost.l0).toBeGreaterThan(0);
    dispose(s);
  });
});
