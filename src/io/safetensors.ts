import { RunError } from '../errors.js';
import { readFileChecked, writeFileAtomic } from './atomic.js';
import { littleEndianBytes, readLittleEndian, type NumericArray } from './bytes.js';
import { fromFloat16Array, toFloat16Array } from './float16.js';

/**
 * safetensors (huggingface/safetensors): an 8-byte little-endian u64 N, then N bytes of JSON
 * header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`
 * (padded with spaces so the data starts 8-byte aligned), then the tensors' row-major
 * little-endian bytes. Offsets are relative to the end of the header and must tile the data
 * buffer exactly: no overlap, no holes (the reference reader rejects both).
 */

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64';

const ELEMENT_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };

/** A tensor to write. F16 takes float values and is rounded to nearest-even on encode. */
export type TensorToWrite =
  | { dtype: 'F32' | 'F16'; shape: number[]; data: Float32Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array }
  | { dtype: 'I64'; shape: number[]; data: BigInt64Array };

/** A tensor read back: floating dtypes are widened to Float32Array. */
export type DecodedTensor =
  | { dtype: 'F32' | 'F16' | 'BF16'; shape: number[]; data: Float32Array; offsets: [number, number] }
  | { dtype: 'I32'; shape: number[]; data: Int32Array; offsets: [number, number] }
  | { dtype: 'I64'; shape: number[]; data: BigInt64Array; offsets: [number, number] };

export interface SafetensorsContent {
  tensors: Record<string, DecodedTensor>;
  metadata: Record<string, string>;
}

/** Largest header accepted on read; the reference implementation uses the same bound. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function tensorBytes(t: TensorToWrite): Uint8Array {
  if (t.dtype === 'F16') return littleEndianBytes(toFloat16Array(t.data));
  return littleEndianBytes(t.data as NumericArray);
}

/**
 * Serialise tensors (+ optional string metadata). Tensors are laid out widest element first
 * (stable otherwise) so every tensor starts aligned to its element size.
 */
export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors);
  if (names.includes('__metadata__')) throw new RunError("safetensors: '__metadata__' is reserved and cannot name a tensor.");
  const order = names
    .map((name, i) => ({ name, i, size: ELEMENT_BYTES[tensors[name]!.dtype] }))
    .sort((a, b) => b.size - a.size || a.i - b.i)
    .map((e) => e.name);

  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header['__metadata__'] = { ...metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of order) {
    const t = tensors[name]!;
    const count = elementCount(t.shape);
    if (t.data.length !== count) {
      throw new RunError(`safetensors: tensor '${name}' has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${count}.`);
    }
    const bytes = tensorBytes(t);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const rawLength = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (rawLength % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');

  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

function bad(source: string, what: string): RunError {
  return new RunError(`${source}: not a valid safetensors file: ${what}.`, 'The file is damaged or was not written by a safetensors writer; re-create it.');
}

function isDtype(x: unknown): x is SafetensorsDtype {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(ELEMENT_BYTES, x);
}

/** Parse and validate a safetensors buffer; `source` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, source: string): SafetensorsContent {
  if (bytes.length < 8) throw bad(source, `${bytes.length} bytes is shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw bad(source, `header length ${n} exceeds the file (${bytes.length} bytes)`);
  }
  const headerLength = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8'));
  } catch (err) {
    throw bad(source, `header is not JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw bad(source, 'header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];

  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(source, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw bad(source, `__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (info === null || typeof info !== 'object') throw bad(source, `entry '${name}' is not an object`);
    if (!isDtype(info.dtype)) throw bad(source, `tensor '${name}' has unsupported dtype ${JSON.stringify(info.dtype)} (supported: F32, F16, BF16, I32, I64)`);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
      throw bad(source, `tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(source, `tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end || end > dataLength) {
      throw bad(source, `tensor '${name}' data_offsets [${begin}, ${end}] lie outside the ${dataLength}-byte data buffer`);
    }
    const expected = elementCount(shape as number[]) * ELEMENT_BYTES[info.dtype];
    if (end - begin !== expected) {
      throw bad(source, `tensor '${name}' spans ${end - begin} bytes but ${info.dtype} [${(shape as number[]).join(', ')}] needs ${expected}`);
    }
    entries.push({ name, dtype: info.dtype, shape: shape as number[], begin, end });
  }

  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin < cursor) throw bad(source, `tensor '${e.name}' overlaps the tensor before it (offset ${e.begin} < ${cursor})`);
    if (e.begin > cursor) throw bad(source, `bytes ${cursor}..${e.begin} of the data buffer belong to no tensor`);
    cursor = e.end;
  }
  if (cursor !== dataLength) throw bad(source, `bytes ${cursor}..${dataLength} of the data buffer belong to no tensor`);

  const tensors: Record<string, DecodedTensor> = {};
  for (const e of entries) {
    const at = dataStart + e.begin;
    const count = elementCount(e.shape);
    const offsets: [number, number] = [e.begin, e.end];
    switch (e.dtype) {
      case 'F32':
        tensors[e.name] = { dtype: 'F32', shape: e.shape, data: readLittleEndian(bytes, at, count, 'f32'), offsets };
        break;
      case 'F16':
        tensors[e.name] = { dtype: 'F16', shape: e.shape, data: fromFloat16Array(readLittleEndian(bytes, at, count, 'u16')), offsets };
        break;
      case 'BF16': {
        // bfloat16 is the top half of a float32.
        const half = readLittleEndian(bytes, at, count, 'u16');
        const wide = new Uint32Array(count);
        for (let i = 0; i < count; i++) wide[i] = half[i]! << 16;
        tensors[e.name] = { dtype: 'BF16', shape: e.shape, data: new Float32Array(wide.buffer), offsets };
        break;
      }
      case 'I32':
        tensors[e.name] = { dtype: 'I32', shape: e.shape, data: readLittleEndian(bytes, at, count, 'i32'), offsets };
        break;
      case 'I64':
        tensors[e.name] = { dtype: 'I64', shape: e.shape, data: readLittleEndian(bytes, at, count, 'i64'), offsets };
        break;
    }
  }
  return { tensors, metadata };
}

export function writeSafetensorsFile(file: string, tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export function readSafetensorsFile(file: string): SafetensorsContent {
  return decodeSafetensors(readFileChecked(file), file);
}

/** A float tensor of a decoded file with exactly this shape, or a RunError naming the file. */
export function requireFloatTensor(content: SafetensorsContent, name: string, shape: number[], source: string): Float32Array {
  const t = content.tensors[name];
  if (!t) {
    throw new RunError(`${source}: no tensor '${name}' (found: ${Object.keys(content.tensors).join(', ') || 'none'}).`, 'The file is not an SAE dictionary written by this tool or SAELens.');
  }
  if (!(t.data instanceof Float32Array)) throw new RunError(`${source}: tensor '${name}' is ${t.dtype}, expected a float tensor.`);
  if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
    throw new RunError(`${source}: tensor '${name}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}].`, 'The weights do not match the configuration beside them; re-export the dictionary.');
  }
  return t.data;
}
