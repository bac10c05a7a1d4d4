import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CompressionType,
  Field,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  makeData,
  vectorFromArray,
  Utf8,
  type Data,
  type DataType,
} from 'apache-arrow';
import { toFloat16Array } from '../../src/io/float16.js';
import type { ColumnOptions } from '../../src/data/types.js';

/** Builders for small Arrow IPC files in tests (values hand-checkable: value(r, j) = r + j / 1000). */

export const COLS: ColumnOptions = { column: 'activation', columns: { tokenId: 'token_id', token: 'token', docId: 'doc_id', pos: 'pos' } };

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sae-'));
}

export const value = (r: number, j: number) => r + j / 1000;

export type FloatKind = 'f16' | 'f32' | 'f64';

function floatData(values: number[] | Float32Array, kind: FloatKind): Data {
  if (kind === 'f32') return makeData({ type: new Float32(), length: values.length, data: Float32Array.from(values) });
  if (kind === 'f64') return makeData({ type: new Float64(), length: values.length, data: Float64Array.from(values) });
  return makeData({ type: new Float16(), length: values.length, data: toFloat16Array(values) });
}

function floatType(kind: FloatKind): DataType {
  return kind === 'f32' ? new Float32() : kind === 'f64' ? new Float64() : new Float16();
}

/** A record batch of rows [first, first+rows) with FixedSizeList<float>[d] (or List<float>) activations and metadata. */
export function rowsBatch(first: number, rows: number, d: number, opts: { kind?: FloatKind; list?: boolean; meta?: boolean; widths?: number[]; f?: (r: number, j: number) => number } = {}): RecordBatch {
  const kind = opts.kind ?? 'f32';
  const f = opts.f ?? value;
  const widths = opts.widths ?? new Array(rows).fill(d);
  const vals: number[] = [];
  for (let i = 0; i < rows; i++) for (let j = 0; j < widths[i]!; j++) vals.push(f(first + i, j));
  const child = floatData(vals, kind);
  const item = new Field('item', floatType(kind), false);
  let act: Data;
  if (opts.list) {
    const offsets = new Int32Array(rows + 1);
    for (let i = 0; i < rows; i++) offsets[i + 1] = offsets[i]! + widths[i]!;
    act = makeData({ type: new List(item), length: rows, nullCount: 0, valueOffsets: offsets, child });
  } else {
    act = makeData({ type: new FixedSizeList(d, item), length: rows, nullCount: 0, child });
  }
  const fields: Field[] = [new Field('activation', act.type, false)];
  const children: Data[] = [act];
  if (opts.meta !== false) {
    const ids = Int32Array.from({ length: rows }, (_, i) => (first + i) * 7);
    fields.push(new Field('token_id', new Int32(), false), new Field('token', new Utf8(), false), new Field('doc_id', new Int32(), false));
    children.push(
      makeData({ type: new Int32(), length: rows, data: ids }),
      vectorFromArray(Array.from({ length: rows }, (_, i) => `t${first + i}`), new Utf8()).data[0]!,
      makeData({ type: new Int32(), length: rows, data: Int32Array.from({ length: rows }, (_, i) => Math.floor((first + i) / 10)) }),
    );
  }
  const struct = makeData({ type: new Struct(fields), length: rows, nullCount: 0, children });
  return new RecordBatch(new Schema(fields, new Map([['model', 'test'], ['layer', '2']])), struct);
}

/** Sequences layout: List<FixedSizeList<Float32>[d]> with per-sequence List<Int32> pos and scalar Int64 doc_id. */
export function sequenceBatch(lengths: number[], d: number, firstToken = 0): RecordBatch {
  const total = lengths.reduce((a, b) => a + b, 0);
  const vals = new Float32Array(total * d);
  for (let t = 0; t < total; t++) for (let j = 0; j < d; j++) vals[t * d + j] = value(firstToken + t, j);
  const leaf = makeData({ type: new Float32(), length: total * d, data: vals });
  const inner = makeData({ type: new FixedSizeList(d, new Field('item', new Float32(), false)), length: total, nullCount: 0, child: leaf });
  const offsets = new Int32Array(lengths.length + 1);
  lengths.forEach((n, i) => (offsets[i + 1] = offsets[i]! + n));
  const outerType = new List(new Field('item', inner.type, false));
  const act = makeData({ type: outerType, length: lengths.length, nullCount: 0, valueOffsets: offsets, child: inner });
  const posLeaf = makeData({ type: new Int32(), length: total, data: Int32Array.from(lengths.flatMap((n) => Array.from({ length: n }, (_, k) => k))) });
  const pos = makeData({ type: new List(new Field('item', new Int32(), false)), length: lengths.length, nullCount: 0, valueOffsets: offsets.slice(), child: posLeaf });
  const doc = makeData({ type: new Int64(), length: lengths.length, data: BigInt64Array.from(lengths.map((_, i) => BigInt(i + 100))) });
  const fields = [new Field('activation', act.type, false), new Field('pos', pos.type, false), new Field('doc_id', new Int64(), false)];
  const struct = makeData({ type: new Struct(fields), length: lengths.length, nullCount: 0, children: [act, pos, doc] });
  return new RecordBatch(new Schema(fields), struct);
}

/** Write batches as an IPC file or stream. */
export function writeIpc(file: string, batches: RecordBatch[], format: 'file' | 'stream' = 'file', compression?: 'lz4' | 'zstd'): string {
  const compressionType = compression === 'lz4' ? CompressionType.LZ4_FRAME : compression === 'zstd' ? CompressionType.ZSTD : null;
  const writer = format === 'file' ? new RecordBatchFileWriter({ compressionType }) : new RecordBatchStreamWriter({ compressionType });
  for (const b of batches) writer.write(b);
  writer.finish();
  fs.writeFileSync(file, writer.toUint8Array(true));
  return file;
}

/** Write rows [0, rows) in record batches of batchRows. */
export function writeRows(file: string, rows: number, d: number, batchRows: number, format: 'file' | 'stream' = 'file', first = 0): string {
  const batches: RecordBatch[] = [];
  for (let r = 0; r < rows; r += batchRows) batches.push(rowsBatch(first + r, Math.min(batchRows, rows - r), d));
  return writeIpc(file, batches, format);
}
