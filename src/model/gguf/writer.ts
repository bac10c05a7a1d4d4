import { writeFileAtomic } from '../../io/atomic.js';
import { GGUF_VALUE } from './types.js';

/** A metadata entry to write: its GGUF value type, and for arrays the item type. */
export type GgufEntry =
  | { key: string; type: 'u32' | 'i32' | 'f32' | 'u64'; value: number }
  | { key: string; type: 'bool'; value: boolean }
  | { key: string; type: 'string'; value: string }
  | { key: string; type: 'string[]'; value: readonly string[] }
  | { key: string; type: 'f32[]' | 'i32[]'; value: ArrayLike<number> };

export interface GgufTensorToWrite {
  name: string;
  /** ggml order: dims[0] varies fastest. */
  dims: number[];
  /** ggml_type id */
  type: number;
  data: Uint8Array;
}

/**
 * Serialise a GGUF v3 file. Used to build test models (random weights of a chosen shape, hostile
 * variants) without any outside tool; the reader is tested against it and against real files.
 */
export function encodeGguf(entries: readonly GgufEntry[], tensors: readonly GgufTensorToWrite[], alignment = 32): Uint8Array {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  const put = (size: number, write: (view: DataView) => void): void => {
    const b = new Uint8Array(size);
    write(new DataView(b.buffer));
    parts.push(b);
  };
  const u32 = (v: number): void => put(4, (d) => d.setUint32(0, v, true));
  const u64 = (v: number): void => put(8, (d) => d.setBigUint64(0, BigInt(v), true));
  const f32 = (v: number): void => put(4, (d) => d.setFloat32(0, v, true));
  const i32 = (v: number): void => put(4, (d) => d.setInt32(0, v, true));
  const str = (s: string): void => {
    const b = enc.encode(s);
    u64(b.length);
    parts.push(b);
  };
  u32(0x46554747);
  u32(3);
  u64(tensors.length);
  u64(entries.length);
  for (const e of entries) {
    str(e.key);
    switch (e.type) {
      case 'u32':
        u32(GGUF_VALUE.UINT32);
        u32(e.value);
        break;
      case 'i32':
        u32(GGUF_VALUE.INT32);
        i32(e.value);
        break;
      case 'u64':
        u32(GGUF_VALUE.UINT64);
        u64(e.value);
        break;
      case 'f32':
        u32(GGUF_VALUE.FLOAT32);
        f32(e.value);
        break;
      case 'bool':
        u32(GGUF_VALUE.BOOL);
        parts.push(new Uint8Array([e.value ? 1 : 0]));
        break;
      case 'string':
        u32(GGUF_VALUE.STRING);
        str(e.value);
        break;
      case 'string[]':
        u32(GGUF_VALUE.ARRAY);
        u32(GGUF_VALUE.STRING);
        u64(e.value.length);
        for (const s of e.value) str(s);
        break;
      case 'f32[]':
      case 'i32[]':
        u32(GGUF_VALUE.ARRAY);
        u32(e.type === 'f32[]' ? GGUF_VALUE.FLOAT32 : GGUF_VALUE.INT32);
        u64(e.value.length);
        for (let i = 0; i < e.value.length; i++) (e.type === 'f32[]' ? f32 : i32)(e.value[i]!);
        break;
    }
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    str(t.name);
    u32(t.dims.length);
    for (const d of t.dims) u64(d);
    u32(t.type);
    offsets.push(offset);
    u64(offset);
    offset += Math.ceil(t.data.byteLength / alignment) * alignment;
  }
  const headLength = parts.reduce((s, p) => s + p.byteLength, 0);
  const dataStart = Math.ceil(headLength / alignment) * alignment;
  const out = new Uint8Array(dataStart + offset);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  tensors.forEach((t, i) => out.set(t.data, dataStart + offsets[i]!));
  return out;
}

/** Write a GGUF file atomically. */
export function writeGguf(file: string, entries: readonly GgufEntry[], tensors: readonly GgufTensorToWrite[]): void {
  writeFileAtomic(file, encodeGguf(entries, tensors));
}
