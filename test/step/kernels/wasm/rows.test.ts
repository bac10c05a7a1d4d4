import { describe, expect, it } from 'vitest';
import { Arena } from '../../../../src/step/kernels/arena.js';
import { loadSimdLoopsResult } from '../../../../src/step/kernels/simd-loops.js';
import { centreRows, residualRows } from '../../../../src/step/workers/row-reduce.js';
import { Rng } from '../../../../src/util/rng.js';

// The row-range passes in WebAssembly SIMD (wasm/rows.ts, part of loops.wasm: needs `npm run
// build`) against the JavaScript reference (workers/row-reduce.ts): xc, xSum, G and gSum to the
// bit, the two sums to float64 rounding.

function setup(B: number, d: number, parts: number, seed: number) {
  const rng = new Rng(seed);
  const arena = new Arena(4 * (3 * B * d + parts * B * d + 2 * d) + 8 * (4 * d + 2) + 4 * parts + 4096);
  const fill = (a: Float32Array, scale: number) => {
    for (let i = 0; i < a.length; i++) a[i] = rng.normal() * scale;
    return a;
  };
  const x = fill(arena.f32(B * d), 3);
  // Signed zeros, a subnormal and exact zeros among the inputs.
  Object.assign(x, { 0: -0, 1: 0, 2: 1e-45 });
  const partials = Array.from({ length: parts }, () => fill(arena.f32(B * d), 1));
  const b_dec = fill(arena.f32(d), 0.5);
  const mean = arena.f64(d);
  for (let j = 0; j < d; j++) mean[j] = rng.normal();
  return { arena, x, partials, b_dec, mean, xc: arena.f32(B * d), G: arena.f32(B * d), xSum: arena.f64(d), gSum: arena.f64(d), table: arena.i32(parts), out: arena.f64(2) };
}

describe('the row-range passes (wasm/rows.ts)', () => {
  for (const [B, d, parts, r0, r1] of [[37, 24, 2, 5, 30], [16, 7, 3, 0, 16], [64, 64, 1, 32, 64], [9, 1, 4, 0, 9], [8, 512, 2, 2, 6]] as const) {
    it(`centre and residual give the reference's values, rows [${r0}, ${r1}) of ${B}, d ${d}, ${parts} partial(s)`, () => {
      const c = setup(B, d, parts, B + d);
      const k = loadSimdLoopsResult(c.arena.memory).kernels!;
      const refXc = new Float32Array(B * d);
      const refXSum = new Float64Array(d);
      centreRows(r0, r1, d, c.x, c.b_dec, refXc, refXSum);
      c.xSum.fill(123);
      expect(k.centre!(r0, r1, d, c.x, c.b_dec, c.xc, c.xSum)).toBe(true);
      expect(Array.from(c.xc)).toEqual(Array.from(refXc));
      expect(Array.from(c.xSum)).toEqual(Array.from(refXSum));

      const refG = new Float32Array(B * d);
      const refGSum = new Float64Array(d);
      const ref = residualRows(r0, r1, B, d, c.partials, c.b_dec, c.x, c.mean, refG, refGSum);
      c.gSum.fill(-5);
      const got = k.residual!(r0, r1, B, d, c.partials, c.b_dec, c.x, c.mean, c.G, c.gSum, { table: c.table, out: c.out })!;
      expect(Array.from(c.G)).toEqual(Array.from(refG));
      expect(Array.from(c.gSum)).toEqual(Array.from(refGSum));
      expect(Math.abs(got.sse - ref.sse)).toBeLessThanOrEqual(1e-12 * ref.sse);
      expect(Math.abs(got.totalVariance - ref.totalVariance)).toBeLessThanOrEqual(1e-12 * ref.totalVariance);
    });
  }

  it('decline arrays outside their memory, or too short (the caller runs the reference)', () => {
    const c = setup(8, 4, 2, 1);
    const k = loadSimdLoopsResult(c.arena.memory).kernels!;
    expect(k.centre!(0, 8, 4, new Float32Array(32), c.b_dec, c.xc, c.xSum)).toBe(false);
    expect(k.centre!(0, 9, 4, c.x, c.b_dec, c.xc, c.xSum)).toBe(false);
    expect(k.residual!(0, 8, 8, 4, c.partials, c.b_dec, c.x, new Float64Array(4), c.G, c.gSum, { table: c.table, out: c.out })).toBeNull();
    expect(k.residual!(0, 8, 8, 4, [...c.partials, c.partials[0]!], c.b_dec, c.x, c.mean, c.G, c.gSum, { table: c.table, out: c.out })).toBeNull();
  });
});
