import fs from 'node:fs';
import { Field, FixedSizeList, Float32, RecordBatch, Schema, Struct, Table, makeData, tableToIPC } from 'apache-arrow';
import { Rng } from '../../src/util/rng.js';

/**
 * Sparse superposition activations for end-to-end tests: each row is a sum of ~`active` of
 * `features` random unit directions in d dimensions with uniform magnitudes, plus a little
 * noise, so an SAE has something to learn. Deterministic in `seed`.
 */
export function sparseActivations(rows: number, d: number, seed: number, features = 2 * d, active = 4): Float32Array {
  const rng = new Rng(seed);
  const dirs = rng.fillNormal(new Float32Array(features * d));
  for (let f = 0; f < features; f++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += dirs[f * d + j]! ** 2;
    const n = Math.sqrt(s);
    for (let j = 0; j < d; j++) dirs[f * d + j]! /= n;
  }
  const out = new Float32Array(rows * d);
  const p = active / features;
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < features; f++) {
      if (rng.next() >= p) continue;
      const a = 1 + 2 * rng.next();
      for (let j = 0; j < d; j++) out[r * d + j]! += a * dirs[f * d + j]!;
    }
    for (let j = 0; j < d; j++) out[r * d + j]! += 0.01 * rng.normal();
  }
  return out;
}

/** Write an Arrow IPC file with one FixedSizeList<Float32>[d] column `activation`, `batchRows` rows per record batch. */
export function writeActivationShard(file: string, x: Float32Array, d: number, batchRows: number, metadata: Record<string, string> = {}): void {
  const type = new FixedSizeList(d, new Field('item', new Float32(), false));
  const schema = new Schema([new Field('activation', type, false)], new Map(Object.entries({ model: 'test', layer: '0', ...metadata })));
  const rows = x.length / d;
  const batches: RecordBatch[] = [];
  for (let start = 0; start < rows; start += batchRows) {
    const n = Math.min(batchRows, rows - start);
    const child = makeData({ type: new Float32(), length: n * d, data: x.slice(start * d, (start + n) * d) });
    const list = makeData({ type, length: n, nullCount: 0, child });
    const struct = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: [list] });
    batches.push(new RecordBatch(schema, struct));
  }
  fs.writeFileSync(file, tableToIPC(new Table(schema, batches), 'file'));
}

/**
 * Overwrite the float payload of record batch `batch` (0-based) of a shard written by
 * writeActivationShard with 0xFF bytes (NaN), leaving the footer and every message header
 * intact, so the damage is only found when that batch is decoded.
 */
export function garbleRecordBatch(file: string, x: Float32Array, d: number, batchRows: number, batch: number): void {
  const bytes = fs.readFileSync(file);
  const values = x.subarray(batch * batchRows * d, (batch + 1) * batchRows * d);
  const needle = Buffer.from(values.buffer, values.byteOffset, Math.min(values.byteLength, 256));
  const at = bytes.indexOf(needle);
  if (at < 0 || bytes.indexOf(needle, at + 1) >= 0) throw new Error(`garbleRecordBatch: payload of batch ${batch} not found exactly once`);
  bytes.fill(0xff, at, at + values.byteLength);
  fs.writeFileSync(file, bytes);
}
