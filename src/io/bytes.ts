import os from 'node:os';

/** Typed arrays this module can lay out as little-endian bytes. */
export type NumericArray = Float32Array | Int32Array | Uint16Array | BigInt64Array;

const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';

/** Little-endian bytes of a typed array (a view when the host is little-endian, a copy otherwise). */
export function littleEndianBytes(a: NumericArray): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float32Array) view.setFloat32(i * 4, a[i]!, true);
    else if (a instanceof Int32Array) view.setInt32(i * 4, a[i]!, true);
    else if (a instanceof Uint16Array) view.setUint16(i * 2, a[i]!, true);
    else view.setBigInt64(i * 8, a[i]!, true);
  }
  return out;
}

/**
 * Read `count` little-endian values starting at `offset` of `bytes` into a fresh, aligned typed
 * array (file buffers need not be aligned for a direct typed-array view).
 */
export function readLittleEndian(bytes: Uint8Array, offset: number, count: number, kind: 'f32'): Float32Array;
export function readLittleEndian(bytes: Uint8Array, offset: number, count: number, kind: 'i32'): Int32Array;
export function readLittleEndian(bytes: Uint8Array, offset: number, count: number, kind: 'u16'): Uint16Array;
export function readLittleEndian(bytes: Uint8Array, offset: number, count: number, kind: 'i64'): BigInt64Array;
export function readLittleEndian(
  bytes: Uint8Array,
  offset: number,
  count: number,
  kind: 'f32' | 'i32' | 'u16' | 'i64',
): NumericArray {
  const size = kind === 'u16' ? 2 : kind === 'i64' ? 8 : 4;
  // A fresh copy: Buffer#slice would return a view into a shared (unaligned) pool.
  const copy = new Uint8Array(count * size);
  copy.set(bytes.subarray(offset, offset + count * size));
  if (LITTLE_ENDIAN_HOST) {
    switch (kind) {
      case 'f32':
        return new Float32Array(copy.buffer, 0, count);
      case 'i32':
        return new Int32Array(copy.buffer, 0, count);
      case 'u16':
        return new Uint16Array(copy.buffer, 0, count);
      case 'i64':
        return new BigInt64Array(copy.buffer, 0, count);
    }
  }
  const view = new DataView(copy.buffer);
  switch (kind) {
    case 'f32':
      return Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
    case 'i32':
      return Int32Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true));
    case 'u16':
      return Uint16Array.from({ length: count }, (_, i) => view.getUint16(i * 2, true));
    case 'i64':
      return BigInt64Array.from({ length: count }, (_, i) => view.getBigInt64(i * 8, true));
  }
}
