import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchStream, REUSED_STORES, type BatchStreamOptions } from '../../src/data/batch-stream.js';
import { SET_COPY_MIN_WIDTH } from '../../src/util/copy-row.js';
import { scanDataset } from '../../src/data/dataset.js';
import { readHeldOut } from '../../src/data/held-out.js';
import { sampleRows } from '../../src/data/sample.js';
import { isHeldOut, rowHash, trainingRowCount } from '../../src/data/split.js';
import { Rng } from '../../src/util/rng.js';
import type { Batch, DatasetInfo } from '../../src/data/types.js';
import { COLS, tempDir, value, writeRows } from './arrow-fixture.js';

const dir = tempDir();
let ds: DatasetInfo;
const ROWS = 230;
const D = 3;

beforeAll(async () => {
  writeRows(path.join(dir, 'a.arrow'), 100, D, 32, 'file');
  writeRows(path.join(dir, 'b.arrow'), 130, D, 50, 'stream', 100);
  ds = await scanDataset([dir], COLS);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const base: BatchStreamOptions = { batchSize: 16, shuffleBuffer: 64, seed: 7, epochs: 2 };

async function ids(opts: Partial<BatchStreamOptions>, stream?: BatchStream): Promise<number[][]> {
  const s = stream ?? new BatchStream(ds, COLS, { ...base, ...opts });
  const out: number[][] = [];
  for await (const b of s) {
    checkRows(b);
    out.push(Array.from(b.rowIds));
  }
  return out;
}

/** Every row's values and metadata must still belong to its row id. */
function checkRows(b: Batch): void {
  expect(b.rows).toBe(b.rowIds.length);
  for (let i = 0; i < b.rows; i++) {
    const r = b.rowIds[i]!;
    expect(b.x[i * D + 2]).toBe(Math.fround(value(r, 2)));
    expect(b.meta.tokenId![i]).toBe(r * 7);
  }
}

describe('BatchStream', () => {
  it('yields full batches, each row exactly once per epoch, shuffled differently per epoch, deterministically', async () => {
    const a = await ids({});
    expect(a.every((b) => b.length === 16)).toBe(true);
    expect(a.length).toBe(Math.floor((2 * ROWS) / 16));
    const flat = a.flat();
    const epoch0 = flat.slice(0, ROWS);
    expect([...epoch0].sort((x, y) => x - y)).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    expect(epoch0).not.toEqual(Array.from({ length: ROWS }, (_, i) => i));
    const epoch1 = flat.slice(ROWS);
    expect(epoch1).not.toEqual(epoch0.slice(0, epoch1.length));
    expect(await ids({})).toEqual(a);
    expect(await ids({ seed: 8 })).not.toEqual(a);
  });

  it('meta: false (training batches) reads the activations only: the same rows and values, no metadata', async () => {
    const stream = new BatchStream(ds, { ...COLS, meta: false }, base);
    const rows: number[][] = [];
    for await (const b of stream) {
      expect(b.meta).toEqual({});
      for (let i = 0; i < b.rows; i++) expect(b.x[i * D + 2]).toBe(Math.fround(value(b.rowIds[i]!, 2)));
      rows.push(Array.from(b.rowIds));
    }
    expect(rows).toEqual(await ids({}));
  });

  it(`reuse: the same batches, their arrays taken from ${REUSED_STORES} stores in turn, from any startBatch`, async () => {
    for (const startBatch of [0, 1, 2]) {
      const xs: Float32Array[] = [];
      const rows: number[][] = [];
      for await (const b of new BatchStream(ds, COLS, { ...base, startBatch, reuse: true })) {
        checkRows(b);
        rows.push(Array.from(b.rowIds));
        xs.push(b.x);
      }
      expect(rows).toEqual(await ids({ startBatch }));
      expect(new Set(xs).size).toBe(REUSED_STORES);
      xs.forEach((x, k) => expect(x).toBe(xs[k % REUSED_STORES]));
    }
  });

  it('pooled: the same batches and values, the rows read from the pool by index, each batch intact while the next two are made', async () => {
    for (const [startBatch, shuffleBuffer, epochs] of [[0, 64, 3], [2, 64, 2], [0, 1000, 2], [5, 1, 2]] as const) {
      const opts = { ...base, startBatch, shuffleBuffer, epochs };
      const expected = await ids(opts);
      const held: { pooled: NonNullable<Batch['pooled']>; rowIds: number[] }[] = [];
      const rows: number[][] = [];
      let pool: Float32Array | null = null;
      for await (const b of new BatchStream(ds, COLS, { ...opts, pooled: true })) {
        const p = b.pooled!;
        expect(p.pool.buffer).toBeInstanceOf(SharedArrayBuffer);
        expect(p.pool.length).toBe((shuffleBuffer + REUSED_STORES * base.batchSize) * D);
        pool ??= p.pool;
        expect(p.pool).toBe(pool);
        expect(p.index.length).toBe(b.rows);
        // The consumer may hold REUSED_STORES - 1 batches (one prefetched): the oldest's pool rows are untouched.
        held.push({ pooled: p, rowIds: Array.from(b.rowIds) });
        if (held.length > REUSED_STORES - 1) held.shift();
        for (const h of held) {
          h.rowIds.forEach((r, i) => expect(h.pooled.pool[h.pooled.index[i]! * D + 1]).toBe(Math.fround(value(r, 1))));
        }
        rows.push(Array.from(b.rowIds));
        // x, gathered at its first read, and its metadata.
        checkRows(b);
        expect(b.x).toBe(b.x);
      }
      expect(rows).toEqual(expected);
    }
  });

  it('emits in the order of the documented buffer shuffle, written out here row by row (with a buffer larger than the data too)', async () => {
    // Each incoming row replaces a uniformly chosen buffered row, which is emitted; each epoch
    // ends by draining the buffer in random order (rng.int(count), the last slot filling the gap).
    const reference = (capacity: number, epochs: number): number[] => {
      const order: number[] = [];
      for (let e = 0; e < epochs; e++) {
        const rng = new Rng(`batch-stream:${base.seed}:${e}`);
        const slots: number[] = [];
        for (let r = 0; r < ROWS; r++) {
          if (slots.length < capacity) {
            slots.push(r);
            continue;
          }
          const j = rng.int(capacity);
          order.push(slots[j]!);
          slots[j] = r;
        }
        while (slots.length > 0) {
          const j = rng.int(slots.length);
          order.push(slots[j]!);
          slots[j] = slots[slots.length - 1]!;
          slots.pop();
        }
      }
      return order.slice(0, Math.floor(order.length / base.batchSize) * base.batchSize);
    };
    for (const shuffleBuffer of [64, 100, 1000]) {
      expect((await ids({ shuffleBuffer, epochs: 3 })).flat()).toEqual(reference(shuffleBuffer, 3));
    }
  });

  it('shuffleBuffer 1 keeps file order', async () => {
    const a = await ids({ shuffleBuffer: 1, epochs: 1 });
    expect(a.flat()).toEqual(Array.from({ length: 224 }, (_, i) => i));
  });

  it('startBatch resumes exactly and position() counts batches', async () => {
    const all = await ids({ epochs: 3 });
    const s = new BatchStream(ds, COLS, { ...base, epochs: 3, startBatch: 20 });
    const rest = await ids({}, s);
    expect(rest).toEqual(all.slice(20));
    expect(s.position()).toEqual({ epoch: 2, batch: all.length, rowsConsumed: all.length * 16 });
    const t = new BatchStream(ds, COLS, { ...base, epochs: 3 });
    let k = 0;
    for await (const _ of t) {
      if (++k === 15) break;
    }
    expect(t.position()).toEqual({ epoch: 1, batch: 15, rowsConsumed: 240 });
  });

  it('infinite epochs keep going; maxRows caps rows per epoch', async () => {
    const s = new BatchStream(ds, COLS, { ...base, epochs: Infinity });
    let n = 0;
    for await (const _ of s) if (++n === 100) break;
    expect(n).toBe(100);
    const capped = (await ids({ maxRows: 40, epochs: 1, shuffleBuffer: 1000, batchSize: 8 })).flat();
    expect(capped.sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('never yields held-out rows; readHeldOut yields exactly them in file order', async () => {
    const split = { fraction: 0.2, seed: 3 };
    const train = (await ids({ split, epochs: 1, shuffleBuffer: 1000, batchSize: 1 })).flat();
    const held: number[] = [];
    for await (const b of readHeldOut(ds, COLS, split)) {
      checkRows(b);
      held.push(...b.rowIds);
    }
    expect(held).toEqual([...held].sort((x, y) => x - y));
    expect(held.length).toBeGreaterThan(20);
    expect(held.length).toBeLessThan(75);
    expect(train.filter((r) => isHeldOut(r, split))).toEqual([]);
    expect([...train, ...held].sort((x, y) => x - y)).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    expect(trainingRowCount(ROWS, split)).toBe(train.length);
  });

  it('rowHash is uniform-ish and depends on the seed', () => {
    let below = 0;
    for (let r = 0; r < 100000; r++) if (rowHash(r, 1) < 0.1) below++;
    expect(below).toBeGreaterThan(9500);
    expect(below).toBeLessThan(10500);
    expect(rowHash(5, 1)).not.toBe(rowHash(5, 2));
    expect(rowHash(2 ** 40 + 5, 1)).not.toBe(rowHash(5, 1));
  });
});

describe('sampleRows', () => {
  it('draws a seeded sample of distinct training rows, all rows when n exceeds them', async () => {
    const split = { fraction: 0.2, seed: 3 };
    const s = await sampleRows(ds, COLS, 50, 11, split);
    checkRows(s);
    const got = Array.from(s.rowIds);
    expect(new Set(got).size).toBe(50);
    expect(got.some((r) => isHeldOut(r, split))).toBe(false);
    expect(Array.from((await sampleRows(ds, COLS, 50, 11, split)).rowIds)).toEqual(got);
    expect(Array.from((await sampleRows(ds, COLS, 50, 12, split)).rowIds)).not.toEqual(got);
    const all = await sampleRows(ds, COLS, 10000, 1);
    expect(all.rows).toBe(ROWS);
  });

  it('is uniform: each row is drawn with probability n/N', async () => {
    const counts = new Array(ROWS).fill(0);
    const trials = 200;
    for (let t = 0; t < trials; t++) for (const r of (await sampleRows(ds, COLS, 23, t)).rowIds) counts[r]++;
    // Expected 20 per row; the first and last 50 rows (reservoir edge cases) must match it on average.
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(counts.slice(0, 50))).toBeGreaterThan(16);
    expect(mean(counts.slice(0, 50))).toBeLessThan(24);
    expect(mean(counts.slice(-50))).toBeGreaterThan(16);
    expect(mean(counts.slice(-50))).toBeLessThan(24);
  });
});

describe('BatchStream with rows wide enough to be copied with TypedArray.set', () => {
  it(`keeps every value with its row at d = ${SET_COPY_MIN_WIDTH} and ${SET_COPY_MIN_WIDTH + 21} (and at d = 3 above)`, async () => {
    for (const d of [SET_COPY_MIN_WIDTH, SET_COPY_MIN_WIDTH + 21]) {
      const wide = tempDir();
      try {
        writeRows(path.join(wide, 'w.arrow'), 150, d, 40);
        const wds = await scanDataset([wide], COLS);
        const seen: number[] = [];
        for await (const b of new BatchStream(wds, COLS, { batchSize: 16, shuffleBuffer: 37, seed: 3, epochs: 1 })) {
          for (let i = 0; i < b.rows; i++) {
            const r = b.rowIds[i]!;
            seen.push(r);
            for (let j = 0; j < d; j++) expect(b.x[i * d + j], `row ${r} column ${j}`).toBe(Math.fround(value(r, j)));
          }
        }
        expect(seen.length).toBe(144);
        expect(new Set(seen).size).toBe(144);
      } finally {
        fs.rmSync(wide, { recursive: true, force: true });
      }
    }
  });
});
