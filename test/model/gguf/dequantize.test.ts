import { describe, expect, it } from 'vitest';
import { ModelError } from '../../../src/errors.js';
import { float32ToFloat16Bits } from '../../../src/io/float16.js';
import { dequantize } from '../../../src/model/gguf/dequantize.js';

function block(scale: number, payload: number[]): Uint8Array {
  const b = new Uint8Array(2 + payload.length);
  new DataView(b.buffer).setUint16(0, float32ToFloat16Bits(scale), true);
  b.set(payload.map((x) => x & 0xff), 2);
  return b;
}

describe('dequantize', () => {
  it('F32 and F16', () => {
    expect(Array.from(dequantize(new Uint8Array(Float32Array.of(1.5, -2).buffer), 0, 2, 'x'))).toEqual([1.5, -2]);
    const h = new Uint16Array([float32ToFloat16Bits(0.5), float32ToFloat16Bits(-3)]);
    expect(Array.from(dequantize(new Uint8Array(h.buffer), 1, 2, 'x'))).toEqual([0.5, -3]);
  });

  it('Q8_0: scale times int8', () => {
    const q = Array.from({ length: 32 }, (_, j) => j - 16);
    const out = dequantize(block(0.25, q), 8, 32, 'x');
    expect(Array.from(out)).toEqual(q.map((v) => v * 0.25));
  });

  it('Q4_0: low nibbles first, high nibbles second, minus 8', () => {
    const bytes = Array.from({ length: 16 }, (_, j) => (j & 0x0f) | ((15 - j) << 4));
    const out = dequantize(block(2, bytes), 2, 32, 'x');
    for (let j = 0; j < 16; j++) {
      expect(out[j]).toBe(2 * (j - 8));
      expect(out[j + 16]).toBe(2 * (15 - j - 8));
    }
  });

  it('names an unsupported type', () => {
    expect(() => dequantize(new Uint8Array(144), 12, 256, 'm.gguf: w')).toThrow(ModelError);
    expect(() => dequantize(new Uint8Array(144), 12, 256, 'm.gguf: w')).toThrow(/Q4_K is not supported/);
  });
});
