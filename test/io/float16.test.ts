import { describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float32ToFloat16Bits, fromFloat16Array, toFloat16Array } from '../../src/io/float16.js';
import { Rng } from '../../src/util/rng.js';
import { halfToNumber } from '../helpers/load-export.js';

/** Naive reference: the float16 nearest to x (ties to the even mantissa), by search over neighbours. */
function nearestHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // 65504 + half an ulp (16) and above round to Inf
  let best = 0;
  let bestErr = Infinity;
  // Bit patterns are ordered like magnitudes, so bisect for the neighbours of a.
  let lo = 0;
  let hi = 0x7bff;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (halfToNumber(mid) <= a) lo = mid;
    else hi = mid;
  }
  for (const h of [lo, hi, Math.min(hi + 1, 0x7bff)]) {
    const err = Math.abs(halfToNumber(h) - a);
    if (err < bestErr || (err === bestErr && (h & 1) === 0)) {
      best = h;
      bestErr = err;
    }
  }
  return sign | best;
}

describe('float16 conversion', () => {
  it('handles zeros, one, the largest finite value and overflow', () => {
    expect(float32ToFloat16Bits(0)).toBe(0x0000);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // tie between 65504 (odd) and 2^16: to even = Inf
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-1e6)).toBe(0xfc00);
  });

  it('handles Inf and NaN', () => {
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
    const nan = float32ToFloat16Bits(NaN);
    expect((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0).toBe(true);
    expect(float16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(float16BitsToFloat32(0x7e00))).toBe(true);
  });

  it('rounds subnormals to nearest, ties to even', () => {
    const tiny = 2 ** -24;
    expect(float32ToFloat16Bits(tiny)).toBe(0x0001);
    expect(float32ToFloat16Bits(tiny / 2)).toBe(0x0000); // tie between 0 and 1 -> 0
    expect(float32ToFloat16Bits(tiny * 0.5000001)).toBe(0x0001);
    expect(float32ToFloat16Bits(tiny * 1.5)).toBe(0x0002); // tie between 1 and 2 -> 2
    expect(float32ToFloat16Bits(tiny * 2.5)).toBe(0x0002); // tie between 2 and 3 -> 2
    expect(float32ToFloat16Bits(tiny * 1023)).toBe(0x03ff); // largest subnormal
    expect(float32ToFloat16Bits(tiny * 1023.5)).toBe(0x0400); // rounds up into the smallest normal
    expect(float32ToFloat16Bits(2 ** -14)).toBe(0x0400);
    expect(float32ToFloat16Bits(2 ** -30)).toBe(0x0000);
    expect(float32ToFloat16Bits(-(2 ** -30))).toBe(0x8000);
    expect(float16BitsToFloat32(0x0001)).toBe(tiny);
    expect(float16BitsToFloat32(0x03ff)).toBe(tiny * 1023);
  });

  it('rounds normal ties to the even mantissa', () => {
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    expect(float32ToFloat16Bits(2047 / 1024)).toBe(0x3fff + 0); // 1.9990234375 is exact
    expect(float32ToFloat16Bits(2 - 2 ** -12)).toBe(0x4000); // carries into the exponent
  });

  it('round-trips every finite float16 exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue; // NaN payloads
      const f = float16BitsToFloat32(h);
      if (halfToNumber(h) !== f && !(f === 0 && halfToNumber(h) === 0)) throw new Error(`0x${h.toString(16)} decodes to ${f}`);
      const back = float32ToFloat16Bits(f);
      if (back !== h) throw new Error(`0x${h.toString(16)} -> ${f} -> 0x${back.toString(16)}`);
    }
  });

  it('matches a naive nearest-value search on random float32 values of all scales', () => {
    const rng = new Rng(7);
    const buf = new Float32Array(1);
    for (let k = 0; k < 20000; k++) {
      buf[0] = rng.normal() * 2 ** Math.floor(rng.next() * 44 - 28);
      const x = buf[0]!;
      const got = float32ToFloat16Bits(x);
      const want = nearestHalf(x);
      if (got !== want) throw new Error(`${x}: got 0x${got.toString(16)}, want 0x${want.toString(16)}`);
    }
  });

  it('matches the naive search on exact midpoints between neighbouring float16 values', () => {
    const rng = new Rng(8);
    for (let k = 0; k < 5000; k++) {
      const h = rng.int(0x7bff);
      const mid = (halfToNumber(h) + halfToNumber(h + 1)) / 2;
      expect(Math.fround(mid)).toBe(mid); // a float16 midpoint is exact in float32
      const got = float32ToFloat16Bits(mid);
      if (got !== nearestHalf(mid)) throw new Error(`${mid}: got 0x${got.toString(16)}, want 0x${nearestHalf(mid).toString(16)}`);
      expect(got & 1).toBe(0);
    }
  });

  it('converts arrays both ways', () => {
    const src = Float32Array.from([0.5, -1.25, 3.140625, 1e-8]);
    const bits = toFloat16Array(src);
    expect(Array.from(bits)).toEqual([0x3800, 0xbd00, 0x4248, 0x0000]);
    expect(Array.from(fromFloat16Array(bits))).toEqual([0.5, -1.25, 3.140625, 0]);
  });
});
