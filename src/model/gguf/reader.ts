import fs from 'node:fs';
import { ModelError } from '../../errors.js';
import { Cursor, NeedMoreBytes, TruncatedGguf } from './cursor.js';
import { GGML_TYPES, GGUF_VALUE, GGUF_VALUE_SIZE } from './types.js';

/** A metadata value: scalars, strings, and arrays of them (nested arrays allowed). */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** ggml's `ne`: dims[0] varies fastest, so a [rows, cols] matrix is dims = [cols, rows]. */
  dims: number[];
  /** ggml_type id; see GGML_TYPES. */
  type: number;
  /** Offset of the tensor's bytes from the start of the data section. */
  offset: number;
  elements: number;
  byteLength: number;
}

export interface GgufHeader {
  file: string;
  fileSize: number;
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Absolute offset of the tensor data section. */
  dataOffset: number;
  alignment: number;
}

// Limits that keep a hostile header from asking for absurd allocations before its bytes are read.
const MAX_TENSORS = 1 << 20;
const MAX_KV = 1 << 20;
const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_ARRAY_DEPTH = 4;

function bad(file: string, found: string, hint = 'The file is not a valid GGUF model; download or convert it again.'): ModelError {
  return new ModelError(`${file}: not a readable GGUF file: ${found}.`, hint);
}

function readValue(c: Cursor, type: number, key: string, file: string, depth: number): GgufValue {
  if (type === GGUF_VALUE.STRING) {
    const s = c.string(`value of '${key}'`);
    if (s === null) throw bad(file, `metadata '${key}' holds a string that is not UTF-8`);
    return s;
  }
  if (type === GGUF_VALUE.ARRAY) {
    if (depth >= MAX_ARRAY_DEPTH) throw bad(file, `metadata '${key}' nests arrays deeper than ${MAX_ARRAY_DEPTH}`);
    const itemType = c.u32(`array type of '${key}'`);
    const n = c.u64(`array length of '${key}'`);
    // Every item takes at least one byte (a string at least 8): a count beyond the file is a lie.
    const minItem = itemType === GGUF_VALUE.STRING ? 8 : itemType === GGUF_VALUE.ARRAY ? 12 : (GGUF_VALUE_SIZE[itemType] ?? 1);
    if (!(itemType in GGUF_VALUE_SIZE) && itemType !== GGUF_VALUE.STRING && itemType !== GGUF_VALUE.ARRAY) {
      throw bad(file, `metadata '${key}' is an array of unknown value type ${itemType}`);
    }
    if (n * minItem > c.remainingInFile) {
      throw bad(file, `metadata '${key}' claims ${n} array items, more than the ${c.remainingInFile} bytes left in the file`);
    }
    const out: GgufValue[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = readValue(c, itemType, key, file, depth + 1);
    return out;
  }
  if (!(type in GGUF_VALUE_SIZE)) throw bad(file, `metadata '${key}' has unknown value type ${type}`);
  return c.scalar(type, `value of '${key}'`);
}

/** Parse a GGUF header from the loaded head of a file; throws NeedMoreBytes if the head is too short. */
function parseHead(bytes: Uint8Array, fileSize: number, file: string): GgufHeader {
  const c = new Cursor(bytes, fileSize);
  const magic = c.u32('magic');
  if (magic !== 0x46554747) {
    throw bad(file, `it starts with ${JSON.stringify(String.fromCharCode(...bytes.subarray(0, 4)))}, expected "GGUF"`, 'Pass a .gguf model file (llama.cpp format).');
  }
  const version = c.u32('version');
  if (version !== 2 && version !== 3) {
    throw bad(file, `GGUF version ${version}; sae reads versions 2 and 3`, 'Convert the model with a current llama.cpp (convert_hf_to_gguf.py).');
  }
  const tensorCount = c.u64('tensor count');
  const kvCount = c.u64('metadata count');
  if (tensorCount > MAX_TENSORS || tensorCount * 24 > fileSize) throw bad(file, `the header claims ${tensorCount} tensors in a ${fileSize}-byte file`);
  if (kvCount > MAX_KV || kvCount * 13 > fileSize) throw bad(file, `the header claims ${kvCount} metadata entries in a ${fileSize}-byte file`);

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`metadata key ${i}`);
    if (key === null) throw bad(file, `metadata key ${i} is not UTF-8`);
    const type = c.u32(`type of '${key}'`);
    metadata.set(key, readValue(c, type, key, file, 0));
  }

  const alignmentValue = metadata.get('general.alignment') ?? 32;
  if (typeof alignmentValue !== 'number' || alignmentValue <= 0 || (alignmentValue & (alignmentValue - 1)) !== 0) {
    throw bad(file, `general.alignment is ${String(alignmentValue)}, expected a power of two`);
  }
  const alignment = alignmentValue;

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`tensor name ${i}`);
    if (name === null) throw bad(file, `tensor ${i} has a name that is not UTF-8`);
    if (names.has(name)) throw bad(file, `tensor '${name}' appears twice`);
    names.add(name);
    const nDims = c.u32(`dimension count of '${name}'`);
    if (nDims < 1 || nDims > MAX_DIMS) throw bad(file, `tensor '${name}' has ${nDims} dimensions, expected 1 to ${MAX_DIMS}`);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const n = c.u64(`dimension ${d} of '${name}'`);
      if (n < 1 || !Number.isSafeInteger(n)) throw bad(file, `tensor '${name}' has dimension ${d} = ${n}`);
      dims.push(n);
      elements *= n;
    }
    const type = c.u32(`type of '${name}'`);
    const offset = c.u64(`offset of '${name}'`);
    const t = GGML_TYPES[type];
    if (!Number.isSafeInteger(elements) || elements > fileSize * 32) throw bad(file, `tensor '${name}' claims ${dims.join(' x ')} elements`);
    if (offset % alignment !== 0) throw bad(file, `tensor '${name}' starts at offset ${offset}, not a multiple of the alignment ${alignment}`);
    let byteLength = 0;
    if (t) {
      if (dims[0]! % t.blockSize !== 0) throw bad(file, `tensor '${name}' of type ${t.name} has a row of ${dims[0]} elements, not a multiple of its block size ${t.blockSize}`);
      byteLength = (elements / t.blockSize) * t.typeSize;
    }
    tensors.push({ name, dims, type, offset, elements, byteLength });
  }
  const dataOffset = Math.ceil(c.offset / alignment) * alignment;
  for (const t of tensors) {
    if (dataOffset + t.offset + t.byteLength > fileSize) {
      throw bad(file, `tensor '${t.name}' needs bytes ${dataOffset + t.offset}..${dataOffset + t.offset + t.byteLength} but the file has ${fileSize} bytes (truncated?)`);
    }
  }
  return { file, fileSize, version, metadata, tensors, dataOffset, alignment };
}

/**
 * Read a GGUF file's header (metadata and tensor directory), loading only as much of the file as
 * the header needs. Every count, length and offset is checked against the file size.
 */
export function readGgufHeader(file: string): GgufHeader {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelError(`${file}: cannot open the model file (${code ?? String(err)}).`, 'Check the path of the model file (--model, or eval.model in a config).');
  }
  try {
    const fileSize = fs.fstatSync(fd).size;
    if (fs.fstatSync(fd).isDirectory()) throw new ModelError(`${file}: is a folder, expected a .gguf file.`, 'Pass the model file itself.');
    let loaded = Math.min(fileSize, 1 << 20);
    for (;;) {
      const head = new Uint8Array(loaded);
      fs.readSync(fd, head, 0, loaded, 0);
      try {
        return parseHead(head, fileSize, file);
      } catch (err) {
        if (err instanceof NeedMoreBytes) {
          loaded = Math.min(fileSize, Math.max(err.needed, loaded * 2));
          continue;
        }
        if (err instanceof TruncatedGguf) {
          throw bad(file, `the file ends (${fileSize} bytes) while reading ${err.what} at byte ${err.offset} (truncated?)`);
        }
        throw err;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The raw bytes of one tensor. */
export function readTensorBytes(header: GgufHeader, tensor: GgufTensorInfo): Uint8Array {
  const out = new Uint8Array(tensor.byteLength);
  const fd = fs.openSync(header.file, 'r');
  try {
    const n = fs.readSync(fd, out, 0, tensor.byteLength, header.dataOffset + tensor.offset);
    if (n !== tensor.byteLength) throw bad(header.file, `tensor '${tensor.name}' is cut short (${n} of ${tensor.byteLength} bytes)`);
  } finally {
    fs.closeSync(fd);
  }
  return out;
}
