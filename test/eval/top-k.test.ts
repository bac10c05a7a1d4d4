import { describe, it, expect } from 'vitest';
import { FeatureTopK } from '../../src/eval/top-k.js';
import { collectContexts, type TokenContext } from '../../src/eval/top-k-context.js';
import type { Batch } from '../../src/data/types.js';
import { Rng } from '../../src/util/rng.js';

/** Brute force: sort all (row, value) pairs of a feature, best first, ties to the smaller row. */
function bruteTopK(values: number[][], j: number, k: number): { rowId: number; activation: number }[] {
  return values
    .map((row, r) => ({ rowId: r, activation: row[j]! }))
    .sort((a, b) => b.activation - a.activation || a.rowId - b.rowId)
    .slice(0, k);
}

describe('FeatureTopK', () => {
  it('matches a full sort, including ties, whatever the arrival order', () => {
    const rng = new Rng(3);
    const rows = 500;
    const m = 7;
    // Values rounded to a coarse grid so that ties are frequent.
    const values = Array.from({ length: rows }, () => Array.from({ length: m }, () => Math.round(rng.next() * 20) / 4));
    for (const k of [1, 5, 64]) {
      const order = Array.from({ length: rows }, (_, i) => i);
      for (let i = rows - 1; i > 0; i--) {
        const s = rng.int(i + 1);
        [order[i], order[s]] = [order[s]!, order[i]!];
      }
      const top = new FeatureTopK(m, k);
      for (const r of order) for (let j = 0; j < m; j++) if (top.wants(j, values[r]![j]!)) top.offer(j, values[r]![j]!, r);
      for (let j = 0; j < m; j++) expect(top.result(j)).toEqual(bruteTopK(values, j, k));
    }
  });

  it('keeps fewer than k when fewer were offered, nothing when k = 0, and lists the kept row ids', () => {
    const top = new FeatureTopK(2, 3);
    top.offer(0, 1.5, 10);
    top.offer(0, 2.5, 4);
    expect(top.result(0)).toEqual([
      { rowId: 4, activation: 2.5 },
      { rowId: 10, activation: 1.5 },
    ]);
    expect(top.result(1)).toEqual([]);
    expect(Array.from(top.rowIds())).toEqual([4, 10]);
    const none = new FeatureTopK(2, 0);
    expect(none.wants(0, 100)).toBe(false);
    none.offer(0, 100, 1);
    expect(none.result(0)).toEqual([]);
  });
});

/** Split rows into batches of the given sizes (cycled). */
function* batches(
  n: number,
  sizes: number[],
  meta: (r: number) => { doc?: number; pos?: number; token?: string; tokenId?: number },
): Generator<Batch> {
  let start = 0;
  let s = 0;
  while (start < n) {
    const rows = Math.min(sizes[s++ % sizes.length]!, n - start);
    const ms = Array.from({ length: rows }, (_, i) => meta(start + i));
    const m0 = ms[0]!;
    yield {
      x: new Float32Array(rows),
      rows,
      d: 1,
      rowIds: Float64Array.from({ length: rows }, (_, i) => start + i),
      meta: {
        ...(m0.doc !== undefined ? { docId: Int32Array.from(ms, (m) => m.doc!) } : {}),
        ...(m0.pos !== undefined ? { pos: Int32Array.from(ms, (m) => m.pos!) } : {}),
        ...(m0.token !== undefined ? { token: ms.map((m) => m.token!) } : {}),
        ...(m0.tokenId !== undefined ? { tokenId: Int32Array.from(ms, (m) => m.tokenId!) } : {}),
      },
    };
    start += rows;
  }
}

async function* asAsync<T>(it: Iterable<T>): AsyncGenerator<T> {
  yield* it;
}

describe('collectContexts', () => {
  // Documents of lengths 5, 9, 4 laid out consecutively; tokens "d<doc>p<pos>".
  const lengths = [5, 9, 4];
  const layout: { doc: number; pos: number }[] = [];
  lengths.forEach((len, doc) => {
    for (let p = 0; p < len; p++) layout.push({ doc, pos: p });
  });
  const meta = (r: number) => ({ ...layout[r]!, token: `d${layout[r]!.doc}p${layout[r]!.pos}`, tokenId: 100 + r });

  /** Naive window: rows within +-c in the same document. */
  function naive(r: number, c: number): TokenContext {
    const { doc, pos } = layout[r]!;
    const ctx: string[] = [];
    for (let q = Math.max(0, r - c); q <= Math.min(layout.length - 1, r + c); q++) if (layout[q]!.doc === doc) ctx.push(`d${layout[q]!.doc}p${layout[q]!.pos}`);
    return { docId: doc, pos, tokenId: 100 + r, token: `d${doc}p${pos}`, context: ctx, focus: Math.min(pos, c) };
  }

  it('gives the window inside the document, across batch boundaries', async () => {
    const wanted = [0, 4, 5, 6, 10, 13, 17, 6];
    for (const sizes of [[1], [3, 2], [100]]) {
      for (const c of [0, 1, 3]) {
        const got = await collectContexts(asAsync(batches(layout.length, sizes, meta)), wanted, c);
        expect(got.size).toBe(7);
        for (const r of wanted) expect(got.get(r)).toEqual(naive(r, c));
      }
    }
  });

  it('breaks windows at position gaps (a subset of a dump) and falls back to token ids', async () => {
    // Rows 0..9 of one document with positions 0,1,2,5,6,7,...: a gap after row 2.
    const pos = [0, 1, 2, 5, 6, 7, 8, 9, 10, 11];
    const got = await collectContexts(
      asAsync(batches(10, [4], (r) => ({ doc: 0, pos: pos[r]!, tokenId: r }))),
      [2, 3],
      2,
    );
    expect(got.get(2)).toMatchObject({ context: ['#0', '#1', '#2'], focus: 2, token: null, tokenId: 2 });
    expect(got.get(3)).toMatchObject({ context: ['#3', '#4', '#5'], focus: 0, pos: 5 });
  });

  it('records metadata without context when there are no tokens, and skips rows never seen', async () => {
    const got = await collectContexts(asAsync(batches(6, [6], (r) => ({ doc: 1, pos: r }))), [3, 99], 2);
    expect(got.get(3)).toEqual({ docId: 1, pos: 3, tokenId: null, token: null, context: [], focus: -1 });
    expect(got.has(99)).toBe(false);
  });
});
