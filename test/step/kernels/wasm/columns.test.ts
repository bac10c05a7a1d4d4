import { describe, expect, it } from 'vitest';
import { Arena } from '../../../../src/step/kernels/arena.js';
import { columnSums, reluColumns } from '../../../../src/step/kernels/loops.js';
import { loadSimdLoopsResult } from '../../../../src/step/kernels/simd-loops.js';
import { Rng } from '../../../../src/util/rng.js';

// The dense step's column passes in WebAssembly SIMD (wasm/columns.ts, part of loops.wasm: needs
// `npm run build`) against the JavaScript reference (loops.ts), to the bit.

function setup(rows: number, mk: number, seed: number) {
  const rng = new Rng(seed);
  const arena = new Arena(4 * (2 * rows * mk + 6 * mk) + 4096);
  const f = arena.f32(rows * mk);
  for (let i = 0; i < f.length; i++) f[i] = rng.normal() * 10 ** Math.floor(rng.normal() * 3);
  // -0, NaN, infinities, subnormals and exact zeros in the first row.
  Object.assign(f, { 0: -0, 1: Number.NaN, 2: Infinity, 3: -Infinity, 4: 1e-45, 5: 0 });
  return { arena, f, a: arena.f32(mk), b: arena.f32(mk) };
}

describe('the dense step\'s column passes (wasm/columns.ts)', () => {
  for (const [rows, mk] of [[1, 6], [37, 21], [64, 512], [5, 3]] as const) {
    it(`reluColumns and columnSums give the reference's values, rows ${rows}, columns ${mk}`, () => {
      const simd = setup(rows, mk, rows + mk);
      const ref = setup(rows, mk, rows + mk);
      const k = loadSimdLoopsResult(simd.arena.memory).kernels!;
      simd.a.fill(7);
      k.reluColumns(simd.f, rows, mk, simd.a, simd.b);
      reluColumns(ref.f, rows, mk, ref.a, ref.b);
      expect(Array.from(simd.f)).toEqual(Array.from(ref.f));
      expect(Array.from(simd.a)).toEqual(Array.from(ref.a));
      expect(Array.from(simd.b)).toEqual(Array.from(ref.b));
      expect(simd.f.every((v) => v >= 0 && !Object.is(v, -0))).toBe(true);
      const raw = setup(rows, mk, 3 * rows);
      const rawRef = setup(rows, mk, 3 * rows);
      k.columnSums(raw.f, rows, mk, raw.a);
      columnSums(rawRef.f, rows, mk, rawRef.a);
      expect(Array.from(raw.a)).toEqual(Array.from(rawRef.a));
    });
  }
});
