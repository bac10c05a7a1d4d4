import fs from 'node:fs';
import path from 'node:path';
import { Dictionary, Field, Int32, makeData, RecordBatch, Schema, Struct, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../../src/errors.js';
import { readBlocks, scanDataset } from '../../../src/data/dataset.js';
import { openShard } from '../../../src/data/shard.js';
import { encodeLz4Frame, registerCodecs } from '../../../src/data/arrow/codecs.js';
import type { Batch } from '../../../src/data/types.js';
import { COLS, rowsBatch, sequenceBatch, tempDir, value, writeIpc, writeRows } from '../arrow-fixture.js';
import { SHARED } from '../../helpers/shared.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const p = (name: string) => path.join(dir, name);

async function collect(files: string[]): Promise<Batch[]> {
  const ds = await scanDataset(files, COLS);
  const out: Batch[] = [];
  for await (const b of readBlocks(ds, COLS)) out.push(b);
  return out;
}

async function dataError(promise: Promise<unknown>): Promise<DataError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    return err as DataError;
  }
  throw new Error('expected a DataError');
}

describe('reading activations', () => {
  it('reads file and stream formats (detected from bytes, not the extension) with global row ids and metadata', async () => {
    writeRows(p('a.arrows'), 10, 3, 4, 'file');
    writeRows(p('b.arrow'), 5, 3, 2, 'stream', 10);
    const a = await openShard(p('a.arrows'), COLS);
    const b = await openShard(p('b.arrow'), COLS);
    expect([a.format, a.rows, a.recordBatches, a.d, a.layout]).toEqual(['file', 10, 3, 3, 'rows']);
    expect([b.format, b.rows, b.recordBatches]).toEqual(['stream', 5, 3]);
    expect(a.metadata).toMatchObject({ model: 'test', layer: '2' });
    expect(a.columnType).toBe('FixedSizeList[3]<Float32>');
    const blocks = await collect([p('a.arrows'), p('b.arrow')]);
    expect(blocks.map((x) => x.rows)).toEqual([4, 4, 2, 2, 2, 1]);
    let r = 0;
    for (const blk of blocks) {
      for (let i = 0; i < blk.rows; i++, r++) {
        expect(blk.rowIds[i]).toBe(r);
        expect(Array.from(blk.x.subarray(i * 3, i * 3 + 3))).toEqual([0, 1, 2].map((j) => Math.fround(value(r, j))));
        expect(blk.meta.tokenId![i]).toBe(r * 7);
        expect(blk.meta.token![i]).toBe(`t${r}`);
        expect(blk.meta.docId![i]).toBe(Math.floor(r / 10));
      }
    }
    expect(r).toBe(15);
  });

  it('converts Float16 and Float64, and reads List<float> rows', async () => {
    writeIpc(p('h.arrow'), [rowsBatch(0, 3, 4, { kind: 'f16', f: (r, j) => r + j / 4 })]);
    writeIpc(p('d.arrow'), [rowsBatch(0, 3, 4, { kind: 'f64' })]);
    writeIpc(p('l.arrow'), [rowsBatch(0, 3, 4, { list: true })]);
    const [h] = await collect([p('h.arrow')]);
    expect(Array.from(h!.x)).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75]);
    const [d] = await collect([p('d.arrow')]);
    expect(d!.x).toBeInstanceOf(Float32Array);
    expect(d!.x[5]).toBeCloseTo(value(1, 1), 6);
    const l = await openShard(p('l.arrow'), COLS);
    expect([l.d, l.columnType]).toEqual([4, 'List<Float32>']);
    const [lb] = await collect([p('l.arrow')]);
    expect(lb!.x[11]).toBeCloseTo(value(2, 3), 6);
  });

  it('flattens whole sequences per row, with list metadata flattened and scalar metadata repeated', async () => {
    writeIpc(p('seq.arrow'), [sequenceBatch([2, 3], 2), sequenceBatch([1], 2, 5)], 'stream');
    const s = await openShard(p('seq.arrow'), COLS);
    expect([s.layout, s.rows, s.d]).toEqual(['sequences', 6, 2]);
    const blocks = await collect([p('seq.arrow')]);
    expect(blocks.map((b) => b.rows)).toEqual([5, 1]);
    expect(Array.from(blocks[0]!.meta.pos!)).toEqual([0, 1, 0, 1, 2]);
    expect(Array.from(blocks[0]!.meta.docId!)).toEqual([100, 100, 101, 101, 101]);
    expect(blocks[1]!.x[1]).toBeCloseTo(value(5, 1), 6);
    expect(Array.from(blocks[1]!.rowIds)).toEqual([5]);
  });
});

/** A block's rows, ids and metadata, copied out (a reused buffer's blocks are valid only until the next). */
function snapshot(b: Batch): unknown {
  return { x: Array.from(b.x), rowIds: Array.from(b.rowIds), tokenId: Array.from(b.meta.tokenId ?? []), token: [...(b.meta.token ?? [])], docId: Array.from(b.meta.docId ?? []) };
}

describe('reading into one reused buffer (reuseBuffer: the training stream)', () => {
  it('gives the same rows and metadata block by block, every record batch read into the one buffer, in both formats, compressed or not', async () => {
    registerCodecs({ lz4: encodeLz4Frame });
    const cases = [['file'], ['stream'], ['file', 'lz4'], ['stream', 'lz4']] as const;
    for (const [format, compression] of cases) {
      const batches = [0, 32, 64, 96].map((first) => rowsBatch(first, Math.min(32, 100 - first), 3));
      const file = writeIpc(p(`reuse-${format}-${compression ?? 'none'}.arrow`), batches, format, compression);
      const ds = await scanDataset([file], COLS);
      const fresh: unknown[] = [];
      const buffers = new Set<ArrayBufferLike>();
      for await (const b of readBlocks(ds, COLS)) {
        fresh.push(snapshot(b));
        buffers.add(b.x.buffer);
      }
      expect(buffers.size).toBe(4);
      const reused: unknown[] = [];
      buffers.clear();
      for await (const b of readBlocks(ds, COLS, { reuseBuffer: true })) {
        reused.push(snapshot(b));
        buffers.add(b.x.buffer);
      }
      expect(reused).toEqual(fresh);
      // 32, 32, 32 and 4 rows: the first message sizes the buffer, the rest fit in it. Compressed
      // bodies are decompressed into buffers of their own.
      if (!compression) expect(buffers.size).toBe(1);
    }
  });

  it('keeps dictionaries in buffers of their own: dictionary-encoded tokens read the same', async () => {
    const rows = 40;
    // A dictionary larger than any record batch: read into the reused buffer, the next batch would overwrite it.
    const tokens = Array.from({ length: rows }, (_, r) => `w${r % 5}`.padEnd(400, '-'));
    const dict = vectorFromArray(tokens, new Dictionary(new Utf8(), new Int32())).data[0]!;
    const batches = [0, 16, 32].map((first) => {
      const n = Math.min(16, rows - first);
      const base = rowsBatch(first, n, 3, { meta: false });
      const act = base.getChildAt(0)!.data[0]!;
      const fields = [base.schema.fields[0]!, new Field('token', dict.type, false)];
      const struct = makeData({ type: new Struct(fields), length: n, nullCount: 0, children: [act, dict.slice(first, n)] });
      return new RecordBatch(new Schema(fields), struct);
    });
    for (const format of ['file', 'stream'] as const) {
      const file = writeIpc(p(`dict-${format}.arrow`), batches, format);
      const ds = await scanDataset([file], COLS);
      const read: string[] = [];
      for await (const b of readBlocks(ds, COLS, { reuseBuffer: true })) read.push(...b.meta.token!);
      expect(read).toEqual(tokens);
    }
  });
});

describe('validation errors', () => {
  it('names the missing column and lists those that exist', async () => {
    writeRows(p('m.arrow'), 4, 2, 4);
    const err = await dataError(openShard(p('m.arrow'), { ...COLS, column: 'resid' }));
    expect(err.message).toContain("no column 'resid'");
    expect(err.message).toContain("'activation', 'token_id'");
    expect(err.hint).toContain('data.column');
  });

  it('rejects a column of the wrong type with the type found', async () => {
    writeRows(p('t.arrow'), 4, 2, 4);
    const err = await dataError(openShard(p('t.arrow'), { ...COLS, column: 'token_id' }));
    expect(err.message).toContain("column 'token_id' is Int32, expected a list of float");
  });

  it('names the row whose width differs', async () => {
    writeIpc(p('w.arrow'), [rowsBatch(0, 4, 3, { list: true, widths: [3, 3, 2, 3] })]);
    const err = await dataError(collect([p('w.arrow')]));
    expect(err.message).toContain('row 2: width 2, expected 3');
    expect(err.message).toContain('w.arrow, record batch 0');
  });

  it('rejects shards of different widths', async () => {
    writeRows(p('w3.arrow'), 4, 3, 4);
    writeRows(p('w5.arrow'), 4, 5, 4);
    const err = await dataError(scanDataset([p('w3.arrow'), p('w5.arrow')], COLS));
    expect(err.message).toMatch(/w5\.arrow: activation width 5, but .*w3\.arrow has width 3/);
  });

  it('names file, record batch and row id of a NaN or Inf', async () => {
    writeIpc(p('nan.arrow'), [rowsBatch(0, 4, 2), rowsBatch(4, 4, 2, { f: (r, j) => (r === 6 && j === 1 ? Infinity : r) })]);
    const err = await dataError(collect([p('nan.arrow')]));
    expect(err.message).toContain('nan.arrow, record batch 1: row 6 holds NaN or Inf');
  });

  it('rejects data with zero rows', async () => {
    writeIpc(p('empty.arrow'), [rowsBatch(0, 0, 2)]);
    const err = await dataError(scanDataset([p('empty.arrow')], COLS));
    expect(err.message).toContain('no activation rows');
  });

  it('gives a clean error for garbage, truncated, and non-Arrow files', async () => {
    fs.writeFileSync(p('garbage.arrow'), Buffer.from('this is not arrow at all, just some text'));
    const good = fs.readFileSync(writeRows(p('full.arrow'), 20, 4, 5));
    fs.writeFileSync(p('trunc.arrow'), good.subarray(0, good.length - 100));
    const goodStream = fs.readFileSync(writeRows(p('full.stream'), 20, 4, 5, 'stream'));
    fs.writeFileSync(p('trunc.stream'), goodStream.subarray(0, 700));
    for (const f of ['garbage.arrow', 'trunc.arrow', 'trunc.stream']) {
      const err = await dataError(collect([p(f)]));
      expect(err.message).toContain(f);
      expect(err.hint).toBeTruthy();
    }
    const err = await dataError(collect([SHARED + '/arrow-corpus/valid/cpp-21.0.0/' + fs.readdirSync(SHARED + '/arrow-corpus/valid/cpp-21.0.0').find((f) => f.endsWith('.json.gz'))!]));
    expect(err.message).toContain('not a valid Arrow IPC file or stream');
  });

  it('refuses big-endian files instead of returning byte-swapped numbers', async () => {
    const err = await dataError(openShard(SHARED + '/arrow-corpus/valid/1.0.0-bigendian/generated_primitive.arrow_file', COLS));
    expect(err.message).toContain('big-endian');
    // The little-endian twin gets past the byte-order check (and fails on the column instead).
    const le = await dataError(openShard(SHARED + '/arrow-corpus/valid/1.0.0-littleendian/generated_primitive.arrow_file', COLS));
    expect(le.message).toContain("no column 'activation'");
  });
});
