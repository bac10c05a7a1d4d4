import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '../../src/backend/tfjs.js';
import { initBackend } from '../../src/backend/select.js';
import { computeFeatureStats, FeatureStatsPass } from '../../src/features/stats.js';
import { evaluateSae } from '../../src/eval/evaluate-sae.js';
import { SaeParams } from '../../src/sae/params.js';
import { nearestDecoderNeighbours } from '../../src/features/geometry.js';
import type { Batch } from '../../src/data/types.js';
import type { SaeWeights } from '../../src/sae/params.js';
import { randomWeights, randomData } from '../helpers/tensors.js';

const d = 6;
const m = 12;
const n = 400;
const docLen = (doc: number) => 20 + ((doc * 7) % 31);

/** Rows laid out as consecutive documents of varying length; token text from a small vocabulary. */
function layout(rows: number): { doc: number; pos: number; tokenId: number }[] {
  const out: { doc: number; pos: number; tokenId: number }[] = [];
  let doc = 0;
  while (out.length < rows) {
    for (let p = 0; p < docLen(doc) && out.length < rows; p++) out.push({ doc, pos: p, tokenId: (out.length * 13) % 50 });
    doc++;
  }
  return out;
}

function weights(): SaeWeights {
  const w = randomWeights(d, m, 11);
  w.b_enc[2] = -100; // never fires: dead
  w.b_enc[5] = 100; // always fires: dense
  for (let k = 0; k < d; k++) w.W_dec[9 * d + k] = -2 * w.W_dec[4 * d + k]!; // anti-parallel: cos -1, not a duplicate
  for (let k = 0; k < d; k++) w.W_dec[7 * d + k] = 3 * w.W_dec[1 * d + k]!; // a duplicate direction of feature 1
  return w;
}

function source(x: Float32Array, rows: ReturnType<typeof layout>, sizes: number[]): () => AsyncIterable<Batch> {
  return async function* () {
    let start = 0;
    let s = 0;
    while (start < rows.length) {
      const b = Math.min(sizes[s++ % sizes.length]!, rows.length - start);
      const part = rows.slice(start, start + b);
      yield {
        x: x.slice(start * d, (start + b) * d),
        rows: b,
        d,
        rowIds: Float64Array.from({ length: b }, (_, i) => start + i),
        meta: {
          tokenId: Int32Array.from(part, (r) => r.tokenId),
          token: part.map((r) => ` w${r.tokenId}`),
          docId: Int32Array.from(part, (r) => r.doc),
          pos: Int32Array.from(part, (r) => r.pos),
        },
      };
      start += b;
    }
  };
}

/** Plain-loop reference of f = ReLU((x - b_dec) W_enc + b_enc) in float64. */
function naiveF(w: SaeWeights, x: Float32Array, rows: number): number[][] {
  const f: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row: number[] = [];
    for (let j = 0; j < w.m; j++) {
      let s = w.b_enc[j]!;
      for (let k = 0; k < w.d; k++) s += (x[r * w.d + k]! - w.b_dec[k]!) * w.W_enc[k * w.m + j]!;
      row.push(Math.max(0, s));
    }
    f.push(row);
  }
  return f;
}

const close = (a: number, b: number, tol = 1e-4) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));

describe('computeFeatureStats', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it.each(['wasm', 'cpu'] as const)('matches a naive reference: moments, flags, top-k with context, geometry, resample history (%s)', async (backend) => {
    await initBackend(backend);
    const w = weights();
    const x = randomData(n, d, 5);
    const rows = layout(n);
    const topK = 5;
    const C = 3;
    const before = tf.memory().numTensors;
    const stats = await computeFeatureStats(w, source(x, rows, [37, 64, 1]), {
      topK,
      contextTokens: C,
      denseThreshold: 0.9,
      deadThreshold: 0,
      chunkRows: 16,
      resampleHistory: new Map([
        [3, { count: 2, lastStep: 500 }],
        [99, { count: 1, lastStep: 5 }],
      ]),
    });
    expect(tf.memory().numTensors).toBe(before);

    const f = naiveF(w, x, n);
    expect(stats.rows).toBe(n);
    expect([stats.d, stats.m]).toEqual([d, m]);
    for (let j = 0; j < m; j++) {
      const fired = f.map((r) => r[j]!).filter((v) => v > 0);
      const mean = fired.reduce((a, b) => a + b, 0) / Math.max(1, fired.length);
      const std = Math.sqrt(fired.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, fired.length));
      expect(stats.fireCount[j]).toBe(fired.length);
      close(stats.frequency[j]!, fired.length / n);
      close(stats.log10Density[j]!, Math.log10(fired.length / n + 1e-10));
      close(stats.meanActivation[j]!, mean);
      close(stats.stdActivation[j]!, std);
      close(stats.maxActivation[j]!, Math.max(0, ...fired));
      expect(stats.dead[j]).toBe(fired.length === 0 ? 1 : 0);
      expect(stats.dense[j]).toBe(fired.length / n > 0.9 ? 1 : 0);

      // Top-k: activations equal the brute-force best values; each row's own activation agrees.
      const brute = f
        .map((r, i) => ({ rowId: i, activation: r[j]! }))
        .filter((e) => e.activation > 0)
        .sort((a, b) => b.activation - a.activation || a.rowId - b.rowId)
        .slice(0, topK);
      const got = stats.topExamples[j]!;
      expect(got.length).toBe(brute.length);
      got.forEach((e, i) => {
        close(e.activation, brute[i]!.activation);
        close(e.activation, f[e.rowId]![j]!);
        const meta = rows[e.rowId]!;
        expect([e.docId, e.pos, e.tokenId, e.token]).toEqual([meta.doc, meta.pos, meta.tokenId, ` w${meta.tokenId}`]);
        const window: string[] = [];
        for (let q = Math.max(0, e.rowId - C); q <= Math.min(n - 1, e.rowId + C); q++) if (rows[q]!.doc === meta.doc) window.push(` w${rows[q]!.tokenId}`);
        expect(e.context).toEqual(window);
        expect(e.focus).toBe(Math.min(meta.pos, C));
      });

      // Geometry.
      let dn = 0;
      let en = 0;
      let dot = 0;
      for (let k = 0; k < d; k++) {
        dn += w.W_dec[j * d + k]! ** 2;
        en += w.W_enc[k * m + j]! ** 2;
        dot += w.W_dec[j * d + k]! * w.W_enc[k * m + j]!;
      }
      close(stats.decoderNorm[j]!, Math.sqrt(dn));
      close(stats.encoderNorm[j]!, Math.sqrt(en));
      close(stats.encoderDecoderCos[j]!, dot / Math.sqrt(dn * en));
    }
    expect(Array.from(stats.dead).reduce((a, b) => a + b)).toBeGreaterThanOrEqual(1);
    expect(stats.dead[2]).toBe(1);
    expect(stats.dense[5]).toBe(1);
    expect(stats.topExamples[2]).toEqual([]);
    expect(stats.nearestIndex[7]).toBe(1);
    expect(stats.nearestIndex[1]).toBe(7);
    close(stats.nearestCos[7]!, 1);
    expect(Array.from(stats.resampleCount.slice(0, 5))).toEqual([0, 0, 0, 2, 0]);
    expect(stats.lastResampleStep[3]).toBe(500);
    expect(stats.lastResampleStep[0]).toBe(-1);
    expect(stats.settings).toEqual({ topK, contextTokens: C, denseThreshold: 0.9, deadThreshold: 0 });
  });

  it('honours maxRows, accepts tensors (not disposing them), and reads context from a separate source', async () => {
    const w = weights();
    const x = randomData(n, d, 6);
    const rows = layout(n);
    const sae = {
      W_enc: tf.tensor2d(w.W_enc, [d, m]),
      b_enc: tf.tensor1d(w.b_enc),
      W_dec: tf.tensor2d(w.W_dec, [m, d]),
      b_dec: tf.tensor1d(w.b_dec),
    };
    const before = tf.memory().numTensors;
    const limited = await computeFeatureStats(sae, source(x, rows, [50]), { topK: 3, contextTokens: 0, denseThreshold: 0.5, maxRows: 120 });
    expect(tf.memory().numTensors).toBe(before);
    const f = naiveF(w, x, 120);
    expect(limited.rows).toBe(120);
    for (let j = 0; j < m; j++) {
      expect(limited.fireCount[j]).toBe(f.filter((r) => r[j]! > 0).length);
      for (const e of limited.topExamples[j]!) {
        expect(e.rowId).toBeLessThan(120);
        expect(e.context).toEqual([` w${rows[e.rowId]!.tokenId}`]);
      }
    }
    // A held-out subset (every third row, global ids kept): context comes from the full dump.
    const subset: () => AsyncIterable<Batch> = async function* () {
      for await (const b of source(x, rows, [64])()) {
        const keep = Array.from({ length: b.rows }, (_, i) => i).filter((i) => b.rowIds[i]! % 3 === 0);
        yield {
          x: Float32Array.from(keep.flatMap((i) => Array.from(b.x.subarray(i * d, (i + 1) * d)))),
          rows: keep.length,
          d,
          rowIds: Float64Array.from(keep, (i) => b.rowIds[i]!),
          meta: { docId: Int32Array.from(keep, (i) => b.meta.docId![i]!), pos: Int32Array.from(keep, (i) => b.meta.pos![i]!), token: keep.map((i) => b.meta.token![i]!) },
        };
      }
    };
    const held = await computeFeatureStats(sae, subset, { topK: 2, contextTokens: 1, denseThreshold: 0.5, contextSource: source(x, rows, [64]) });
    expect(held.rows).toBe(Math.ceil(n / 3));
    const some = held.topExamples.flat();
    expect(some.length).toBeGreaterThan(0);
    for (const e of some) {
      expect(e.rowId % 3).toBe(0);
      if (rows[e.rowId]!.pos > 0 && rows[e.rowId + 1]?.doc === rows[e.rowId]!.doc) expect(e.context.length).toBe(3);
    }
    tf.dispose(Object.values(sae));
  });

  it.each(['wasm', 'cpu'] as const)('fed by the evaluation (one encode for both, as a run ends): the same statistics to the bit, the same metrics (%s)', async (backend) => {
    await initBackend(backend);
    const w = weights();
    const x = randomData(n, d, 7);
    const rows = layout(n);
    const sae = new SaeParams(w);
    try {
      for (const maxRows of [undefined, 150]) {
        const opts = { topK: 4, contextTokens: 2, denseThreshold: 0.5, ...(maxRows ? { maxRows } : {}) };
        const alone = await computeFeatureStats(sae, source(x, rows, [37, 64, 1]), opts);
        const evalAlone = await evaluateSae(sae, source(x, rows, [64])(), { chunkRows: 48 });
        const pass = new FeatureStatsPass(d, m, opts);
        const evalShared = await evaluateSae(sae, source(x, rows, [64])(), {
          chunkRows: 48,
          onActivations: (f, k, rowIds, batch) => {
            pass.noteBatch(batch);
            pass.add(f, k, rowIds);
          },
        });
        const shared = await pass.result(sae, source(x, rows, [64]));
        expect(shared).toEqual(alone);
        expect(shared.rows).toBe(maxRows ?? n);
        expect(evalShared).toEqual(evalAlone);
      }
    } finally {
      sae.dispose();
    }
  });

  it('refuses data of the wrong width and empty data with a DataError', async () => {
    const w = weights();
    const wrong: () => AsyncIterable<Batch> = async function* () {
      yield { x: new Float32Array(8), rows: 2, d: 4, rowIds: new Float64Array([0, 1]), meta: {} };
    };
    await expect(computeFeatureStats(w, wrong, { topK: 1, contextTokens: 0, denseThreshold: 0.1 })).rejects.toThrow(/width 4.*input width is 6/);
    const empty: () => AsyncIterable<Batch> = async function* () {};
    await expect(computeFeatureStats(w, empty, { topK: 1, contextTokens: 0, denseThreshold: 0.1 })).rejects.toThrow(/no activation rows/);
  });
});

describe('nearestDecoderNeighbours', () => {
  afterAll(async () => {
    await initBackend('cpu');
  });

  it.each(['cpu', 'wasm'] as const)('matches brute force for any chunk size, in tfjs and on the host (%s)', async (backend) => {
    await initBackend(backend);
    const w = randomWeights(5, 33, 4);
    const W_dec = tf.tensor2d(w.W_dec, [33, 5]);
    const before = tf.memory().numTensors;
    for (const [maxChunkElements, host] of [[1, false], [33 * 4, false], [1 << 22, false], [0, true]] as const) {
      const { nearestIndex, nearestCos } = await nearestDecoderNeighbours(W_dec, { maxChunkElements, host });
      for (let i = 0; i < 33; i++) {
        let best = -Infinity;
        let arg = -1;
        for (let j = 0; j < 33; j++) {
          if (j === i) continue;
          let dot = 0;
          let ni = 0;
          let nj = 0;
          for (let k = 0; k < 5; k++) {
            dot += w.W_dec[i * 5 + k]! * w.W_dec[j * 5 + k]!;
            ni += w.W_dec[i * 5 + k]! ** 2;
            nj += w.W_dec[j * 5 + k]! ** 2;
          }
          const c = dot / Math.sqrt(ni * nj);
          if (c > best) [best, arg] = [c, j];
        }
        expect(nearestIndex[i]).toBe(arg);
        close(nearestCos[i]!, best);
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    const single = tf.tensor2d([[1, 2]]);
    const one = await nearestDecoderNeighbours(single);
    expect([one.nearestIndex[0], one.nearestCos[0]]).toEqual([-1, NaN]);
    tf.dispose([W_dec, single]);
  });
});
