import { RunError } from '../errors.js';
import { readFileChecked, writeFileAtomic } from './atomic.js';
import { littleEndianBytes, readLittleEndian } from './bytes.js';
import { fromFloat16Array, toFloat16Array } from './float16.js';

/**
 * NumPy .npy (format version 1.0, numpy/lib/format.py): the magic "\x93NUMPY", version bytes
 * 1 0, a u16 little-endian header length, then a Python dict literal
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (m, d), }` padded with spaces and ended
 * by '\n' so that magic + version + length + header is a multiple of 64 bytes; then the data
 * in C order. The reader also accepts versions 2.0/3.0 (u32 header length).
 */

export type NpyDescr = '<f4' | '<f2' | '<i4';

export interface NpyArray {
  descr: NpyDescr;
  shape: number[];
  /** Values; '<f2' is widened to float32. */
  data: Float32Array | Int32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const PREFIX_BYTES = 10; // magic (6) + version (2) + header length (2)

function shapeLiteral(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** Encode values as a .npy file. Float data may be stored as '<f4' or '<f2'; Int32Array as '<i4'. */
export function encodeNpy(data: Float32Array | Int32Array, shape: readonly number[], descr: NpyDescr): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new RunError(`npy: ${data.length} values do not fill shape ${shapeLiteral(shape)}.`);
  let body: Uint8Array;
  if (descr === '<i4') {
    if (!(data instanceof Int32Array)) throw new RunError("npy: '<i4' needs Int32Array data.");
    body = littleEndianBytes(data);
  } else {
    if (!(data instanceof Float32Array)) throw new RunError(`npy: '${descr}' needs Float32Array data.`);
    body = descr === '<f2' ? littleEndianBytes(toFloat16Array(data)) : littleEndianBytes(data);
  }
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  const unpadded = PREFIX_BYTES + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (header.length > 0xffff) throw new RunError(`npy: shape ${shapeLiteral(shape)} makes the header too long for format 1.0.`);

  const out = new Uint8Array(PREFIX_BYTES + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), PREFIX_BYTES);
  out.set(body, PREFIX_BYTES + header.length);
  return out;
}

function bad(source: string, what: string): RunError {
  return new RunError(`${source}: not a readable .npy file: ${what}.`, 'The file is damaged or uses a layout this tool does not read (it reads C-order <f4, <f2, <i4).');
}

/** Decode a .npy buffer written by numpy or encodeNpy; `source` names the file in errors. */
export function decodeNpy(bytes: Uint8Array, source: string): NpyArray {
  if (bytes.length < PREFIX_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) throw bad(source, 'missing the \\x93NUMPY magic');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad(source, 'truncated header');
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw bad(source, `unsupported format version ${major}.${bytes[7]}`);
  }
  if (headerStart + headerLength > bytes.length) throw bad(source, 'header runs past the end of the file');
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + headerStart, headerLength).toString(major === 3 ? 'utf8' : 'latin1');

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad(source, `header ${JSON.stringify(header.trim())} lacks descr/fortran_order/shape`);
  if (descr !== '<f4' && descr !== '<f2' && descr !== '<i4') throw bad(source, `dtype '${descr}'`);
  if (fortran !== 'False') throw bad(source, 'Fortran-ordered data');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => Number(s.replace(/L$/, '')));
  if (shape.some((s) => !Number.isSafeInteger(s) || s < 0)) throw bad(source, `shape (${shapeText})`);

  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  const size = descr === '<f2' ? 2 : 4;
  if (bytes.length - dataStart !== count * size) {
    throw bad(source, `${bytes.length - dataStart} data bytes, expected ${count * size} for ${descr} ${shapeLiteral(shape)}`);
  }
  const data =
    descr === '<f4'
      ? readLittleEndian(bytes, dataStart, count, 'f32')
      : descr === '<i4'
        ? readLittleEndian(bytes, dataStart, count, 'i32')
        : fromFloat16Array(readLittleEndian(bytes, dataStart, count, 'u16'));
  return { descr, shape, data };
}

export function writeNpyFile(file: string, data: Float32Array | Int32Array, shape: readonly number[], descr: NpyDescr): void {
  writeFileAtomic(file, encodeNpy(data, shape, descr));
}

export function readNpyFile(file: string): NpyArray {
  return decodeNpy(readFileChecked(file), file);
}
