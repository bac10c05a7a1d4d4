import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/backend/select.js';
import type { LoopKernels } from '../../../src/step/kernels/loops.js';
import { loadSimdLoopsResult } from '../../../src/step/kernels/simd-loops.js';
import { planLayout, viewsOf, type SliceViews, type StateViews } from '../../../src/step/workers/layout.js';
import { SliceCompute } from '../../../src/step/workers/slice-compute.js';
import { Rng } from '../../../src/util/rng.js';

beforeAll(async () => {
  await initBackend('wasm');
});

// A worker's sparse encode in the calling thread: the SIMD encoder product (wasm/gemm.ts) is the
// one that runs when the kernels have it, and gives what tfjs' product gives, to the bit.
describe('SliceCompute sparse encode', () => {
  const B = 37;
  const d = 24;
  const m = 90;
  const setup = () => {
    const { layout, arena } = planLayout(B, d, m, 2, 0.5);
    const s = viewsOf(arena.memory, layout.arrays) as unknown as StateViews;
    const rng = new Rng(3);
    for (const a of [s.xc, s.W_enc, s.W_dec]) for (let i = 0; i < a.length; i++) a[i] = rng.normal() * 0.3;
    // Biases below zero keep f sparse (within the slices' capacity).
    for (let i = 0; i < m; i++) s.b_enc[i] = -0.5 + 0.1 * rng.normal();
    return { layout, arena, s };
  };
  const run = (withProduct: boolean) => {
    const { layout, arena } = setup();
    const simd = loadSimdLoopsResult(arena.memory).kernels!;
    let products = 0;
    const loops: LoopKernels = withProduct
      ? { ...simd, encoderProduct: (...a: Parameters<NonNullable<LoopKernels['encoderProduct']>>) => (products++, simd.encoderProduct!(...a)) }
      : { ...simd, encoderProduct: undefined };
    const out = layout.slices.map((_, k) => {
      const c = new SliceCompute(arena.memory, layout, k, loops);
      const nnz = c.encode(B, false).nnz;
      const v = viewsOf(arena.memory, layout.slices[k]!.arrays) as unknown as SliceViews;
      return { nnz, partial: Array.from(v.partial), col: Array.from(v.col.subarray(0, nnz)), val: Array.from(v.val.subarray(0, nnz)) };
    });
    return { out, products };
  };

  it('runs the SIMD encoder product on each slice, with the entries and partial reconstructions of tfjs\' product', () => {
    const simd = run(true);
    const tfjs = run(false);
    expect(simd.products).toBe(2);
    expect(tfjs.products).toBe(0);
    expect(simd.out[0]!.nnz).toBeGreaterThan(0);
    expect(simd.out[1]!.nnz).toBeGreaterThan(0);
    expect(simd.out).toEqual(tfjs.out);
  });
});
