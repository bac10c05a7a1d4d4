/** A float32 array's bit patterns, for bit-for-bit comparisons (NaN and -0 included). */
export function float32Bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}
