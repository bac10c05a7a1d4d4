import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/backend/select.js';
import type { LoopKernels } from '../../../src/step/kernels/loops.js';
import { loadSimdLoopsResult } from '../../../src/step/kernels/simd-loops.js';
import { planLayout, viewsOf, type SliceViews, type StateViews } from '../../../src/step/workers/layout.js';
import { SliceCompute, type ScreenMode } from '../../../src/step/workers/slice-compute.js';
import { Rng } from '../../../src/util/rng.js';

beforeAll(async () => {
  await initBackend('wasm');
});

// A worker's share of a step in the calling thread: the SIMD products (wasm/gemm.ts) are the ones
// that run when the kernels have them, and give what tfjs' products give, to the bit.
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
      ? { ...simd, product: (p) => (products++, simd.product!(p)) }
      : { ...simd, product: undefined };
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

describe('SliceCompute sparse encode, screened (few active entries)', () => {
  const B = 63;
  const d = 40;
  const m = 256;
  const run = (kind: ScreenMode | 'tfjs') => {
    const { layout, arena } = planLayout(B, d, m, 3, 0.5);
    const s = viewsOf(arena.memory, layout.arrays) as unknown as StateViews;
    const rng = new Rng(5);
    for (const a of [s.xc, s.W_enc, s.W_dec]) for (let i = 0; i < a.length; i++) a[i] = rng.normal() * 0.3;
    // About 0.2% of the entries active, as where the step screens (screen-choice.ts).
    for (let i = 0; i < m; i++) s.b_enc[i] = -1.7 + 0.1 * rng.normal();
    const simd = loadSimdLoopsResult(arena.memory).kernels!;
    const calls = { screened: 0, products: 0, prepared: 0 };
    const loops: LoopKernels = {
      ...simd,
      product: kind === 'tfjs' ? undefined : (p) => (calls.products++, simd.product!(p)),
      screenedProduct: (p) => (calls.screened++, simd.screenedProduct!(p)),
      screenRows: (...a) => (calls.prepared++, simd.screenRows!(...a)),
    };
    const slices = layout.slices.map((_, k) => new SliceCompute(arena.memory, layout, k, loops));
    // 'shared': every slice's share of the rows first, as the workers do before the barrier.
    if (kind === 'shared') for (const c of slices) c.prepareScreen(B);
    const mode = kind === 'tfjs' ? 'no' : kind;
    const encodes = slices.map((c, k) => {
      const nnz = c.encode(B, false, undefined, undefined, mode).nnz;
      const v = viewsOf(arena.memory, layout.slices[k]!.arrays) as unknown as SliceViews;
      return { nnz, partial: Array.from(v.partial), col: Array.from(v.col.subarray(0, nnz)), val: Array.from(v.val.subarray(0, nnz)) };
    });
    return { encodes, calls };
  };

  it("gives the plain product's and tfjs' entries and partial reconstructions, screened alone or over rows every slice prepared a share of", () => {
    const plain = run('no');
    const alone = run('alone');
    const shared = run('shared');
    expect(plain.calls).toEqual({ screened: 0, products: 3, prepared: 0 });
    expect(alone.calls).toEqual({ screened: 3, products: 0, prepared: 0 });
    expect(shared.calls).toEqual({ screened: 3, products: 0, prepared: 3 });
    const nnz = plain.encodes.reduce((a, e) => a + e.nnz, 0);
    expect(nnz).toBeGreaterThan(0);
    expect(nnz / (B * m)).toBeLessThan(0.005);
    expect(alone.encodes).toEqual(plain.encodes);
    expect(shared.encodes).toEqual(plain.encodes);
    expect(run('tfjs').encodes).toEqual(plain.encodes);
  });
});

describe('SliceCompute dense step', () => {
  const setup = (B: number, d: number, m: number, workers: number) => {
    const { layout, arena } = planLayout(B, d, m, workers, 0.5);
    const s = viewsOf(arena.memory, layout.arrays) as unknown as StateViews;
    const rng = new Rng(5);
    for (const a of [s.xc, s.W_enc, s.W_dec, s.G]) for (let i = 0; i < a.length; i++) a[i] = rng.normal() * 0.3;
    for (let i = 0; i < m; i++) s.b_enc[i] = 0.05 * rng.normal();
    return { layout, arena, s };
  };
  /** One dense encode and backward of every slice, on the host products or (without them) tfjs'. */
  const run = (B: number, d: number, m: number, workers: number, host: boolean) => {
    const { layout, arena, s } = setup(B, d, m, workers);
    const simd = loadSimdLoopsResult(arena.memory).kernels!;
    let products = 0;
    const loops: LoopKernels = host
      ? { ...simd, product: (p) => (products++, simd.product!(p)) }
      : { ...simd, product: undefined };
    const slices = layout.slices.map((_, k) => new SliceCompute(arena.memory, layout, k, loops));
    const nnz = slices.map((c) => c.encode(B, true).nnz);
    const partials = layout.slices.map((sl) => Array.from((viewsOf(arena.memory, sl.arrays) as unknown as SliceViews).partial));
    const fSum = layout.slices.map((sl) => Array.from((viewsOf(arena.memory, sl.arrays) as unknown as SliceViews).fSum.subarray(sl.i0, sl.i1)));
    const fired = Array.from(s.fired);
    const sq = slices.map((c) => c.backward(B, 0.7, 'l1-decoder-norm', false).sumSquares);
    return { nnz, partials, fSum, fired, sq, gW_enc: Array.from(s.gW_enc), gb_enc: Array.from(s.gb_enc), gW_dec: Array.from(s.gW_dec), products };
  };

  for (const [B, d, m, workers] of [[64, 16, 40, 2], [37, 13, 45, 3], [600, 24, 20, 2]] as const) {
    it(`runs on the SIMD products and gives tfjs' dense step to the bit (batch ${B}, d ${d}, m ${m}, ${workers} slices)`, () => {
      const host = run(B, d, m, workers, true);
      const tfjs = run(B, d, m, workers, false);
      // Per slice: the encoder product and the decode at encode, then three products at backward.
      expect(host.products).toBe(5 * workers);
      expect(tfjs.products).toBe(0);
      expect(host.nnz.every((n) => n > 0)).toBe(true);
      expect(host).toEqual({ ...tfjs, products: host.products });
    });
  }
});
