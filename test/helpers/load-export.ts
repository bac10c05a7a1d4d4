/**
 * Independent readers for exported dictionaries, written from the format specs and sharing no
 * code with src/io, so a bug in our writers cannot hide behind the same bug in our readers.
 * Arrow exports are read with apache-arrow's own reader.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import type { SaeWeights } from '../../src/sae/params.js';

/** float16 bits -> number, from the IEEE 754 definition. */
export function halfToNumber(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * Math.pow(2, e - 15) * (1 + f / 1024);
}

export interface ParsedTensor {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
  values: number[];
}

export interface ParsedSafetensors {
  headerLength: number;
  header: Record<string, unknown>;
  metadata: Record<string, string> | undefined;
  tensors: Record<string, ParsedTensor>;
  dataStart: number;
  fileLength: number;
}

/** A tiny safetensors parser: u64 LE header length, JSON header, little-endian data. */
export function parseSafetensors(bytes: Buffer): ParsedSafetensors {
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  const dataStart = 8 + headerLength;
  const tensors: Record<string, ParsedTensor> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const t = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [begin, end] = t.data_offsets;
    const values: number[] = [];
    for (let p = dataStart + begin; p < dataStart + end; ) {
      switch (t.dtype) {
        case 'F32':
          values.push(bytes.readFloatLE(p));
          p += 4;
          break;
        case 'F16':
          values.push(halfToNumber(bytes.readUInt16LE(p)));
          p += 2;
          break;
        case 'I32':
          values.push(bytes.readInt32LE(p));
          p += 4;
          break;
        case 'I64':
          values.push(Number(bytes.readBigInt64LE(p)));
          p += 8;
          break;
        default:
          throw new Error(`test parser: dtype ${t.dtype}`);
      }
    }
    tensors[name] = { dtype: t.dtype, shape: t.shape, begin, end, values };
  }
  return { headerLength, header, metadata: header['__metadata__'] as Record<string, string> | undefined, tensors, dataStart, fileLength: bytes.length };
}

export interface ParsedNpy {
  major: number;
  headerText: string;
  /** Bytes before the data (magic + version + length + header). */
  dataStart: number;
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  values: number[];
}

/** A tiny .npy parser (format 1.0/2.0; '<f4', '<f2', '<i4'). */
export function parseNpy(bytes: Buffer): ParsedNpy {
  if (bytes[0] !== 0x93 || bytes.subarray(1, 6).toString('latin1') !== 'NUMPY') throw new Error('test parser: no magic');
  const major = bytes[6]!;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const headerText = bytes.subarray(start, start + headerLength).toString('latin1');
  const dict = headerText.trim();
  const descr = /'descr': '([^']+)'/.exec(dict)![1]!;
  const fortranOrder = /'fortran_order': True/.test(dict);
  const shape = /'shape': \(([^)]*)\)/
    .exec(dict)![1]!
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(Number);
  const dataStart = start + headerLength;
  const values: number[] = [];
  const size = descr === '<f2' ? 2 : 4;
  for (let p = dataStart; p < bytes.length; p += size) {
    values.push(descr === '<f4' ? bytes.readFloatLE(p) : descr === '<i4' ? bytes.readInt32LE(p) : halfToNumber(bytes.readUInt16LE(p)));
  }
  return { major, headerText, dataStart, descr, fortranOrder, shape, values };
}

export type ExportFormatName = 'saelens' | 'safetensors' | 'npy' | 'arrow' | 'json';

function weightsFrom(d: number, m: number, get: (name: 'W_enc' | 'b_enc' | 'W_dec' | 'b_dec') => number[]): SaeWeights {
  return {
    d,
    m,
    W_enc: Float32Array.from(get('W_enc')),
    b_enc: Float32Array.from(get('b_enc')),
    W_dec: Float32Array.from(get('W_dec')),
    b_dec: Float32Array.from(get('b_dec')),
  };
}

/** Load the dictionary of an export, in any format, with the independent readers above. */
export function loadExport(target: string, format: ExportFormatName): SaeWeights {
  switch (format) {
    case 'saelens':
    case 'safetensors': {
      const file = format === 'saelens' ? path.join(target, 'sae_weights.safetensors') : target;
      const st = parseSafetensors(fs.readFileSync(file));
      const [d, m] = st.tensors['W_enc']!.shape as [number, number];
      return weightsFrom(d, m, (n) => st.tensors[n]!.values);
    }
    case 'npy': {
      const read = (n: string): ParsedNpy => parseNpy(fs.readFileSync(path.join(target, `${n}.npy`)));
      const enc = read('W_enc');
      const [d, m] = enc.shape as [number, number];
      return weightsFrom(d, m, (n) => (n === 'W_enc' ? enc.values : read(n).values));
    }
    case 'arrow': {
      const table = tableFromIPC(fs.readFileSync(target));
      const m = table.numRows;
      const dec = table.getChild('decoder')!;
      const enc = table.getChild('encoder')!;
      const bEnc = table.getChild('b_enc')!;
      const bDec = JSON.parse(table.schema.metadata.get('b_dec')!) as number[];
      const d = bDec.length;
      const W_dec: number[] = [];
      const W_enc = new Array<number>(d * m);
      for (let i = 0; i < m; i++) {
        const dr = Array.from(dec.get(i) as ArrayLike<number>);
        const er = Array.from(enc.get(i) as ArrayLike<number>);
        W_dec.push(...dr);
        for (let r = 0; r < d; r++) W_enc[r * m + i] = er[r]!;
      }
      const b_enc = Array.from({ length: m }, (_, i) => bEnc.get(i) as number);
      return weightsFrom(d, m, (n) => ({ W_enc, W_dec, b_enc, b_dec: bDec })[n]);
    }
    case 'json': {
      const j = JSON.parse(fs.readFileSync(target, 'utf8')) as {
        d_in: number;
        d_sae: number;
        b_dec: number[];
        features: { b_enc: number; encoder: number[]; decoder: number[] }[];
      };
      const { d_in: d, d_sae: m } = j;
      const W_enc = new Array<number>(d * m);
      j.features.forEach((f, i) => f.encoder.forEach((v, r) => (W_enc[r * m + i] = v)));
      return weightsFrom(d, m, (n) =>
        n === 'W_enc' ? W_enc : n === 'W_dec' ? j.features.flatMap((f) => f.decoder) : n === 'b_enc' ? j.features.map((f) => f.b_enc) : j.b_dec,
      );
    }
  }
}

/** x_hat = ReLU((x - b_dec) W_enc + b_enc) W_dec + b_dec with plain loops. x [n, d] -> [n, d]. */
export function reconstruct(w: SaeWeights, x: Float32Array, n: number): Float64Array {
  const { d, m } = w;
  const out = new Float64Array(n * d);
  const f = new Float64Array(m);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < m; i++) {
      let s = w.b_enc[i]!;
      for (let j = 0; j < d; j++) s += (x[r * d + j]! - w.b_dec[j]!) * w.W_enc[j * m + i]!;
      f[i] = s > 0 ? s : 0;
    }
    for (let j = 0; j < d; j++) {
      let s = w.b_dec[j]!;
      for (let i = 0; i < m; i++) s += f[i]! * w.W_dec[i * d + j]!;
      out[r * d + j] = s;
    }
  }
  return out;
}
