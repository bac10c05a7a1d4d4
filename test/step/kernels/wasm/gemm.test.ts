import * as tf from '../../../../src/backend/tfjs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../../src/backend/select.js';
import { Arena } from '../../../../src/step/kernels/arena.js';
import type { LoopKernels } from '../../../../src/step/kernels/loops.js';
import { encoderProductArgs, jsLoops, productPackFloats } from '../../../../src/step/kernels/loops.js';
import { loadSimdLoopsResult } from '../../../../src/step/kernels/simd-loops.js';
import { Rng } from '../../../../src/util/rng.js';

// The sparse step's encoder product in WebAssembly SIMD (wasm/gemm.ts, part of loops.wasm: needs
// `npm run build`) against float32 arithmetic in the same order, and against tfjs' fused matMul
// on wasm, to the bit.

interface Shape {
  rows: number;
  d: number;
  m: number;
  i0: number;
  mk: number;
}

/** Arrays of one product in a fresh Arena (random x, W_enc, b_enc). */
function setup(s: Shape, seed: number) {
  const rng = new Rng(seed);
  const { packA, packB } = productPackFloats(s.d, s.mk);
  const arena = new Arena(4 * (s.rows * s.d + s.d * s.m + s.m + packA + packB + s.rows * s.mk + 64) + 1024);
  const fill = (a: Float32Array) => {
    for (let i = 0; i < a.length; i++) a[i] = rng.normal();
    return a;
  };
  return {
    arena,
    xc: fill(arena.f32(s.rows * s.d)),
    W: fill(arena.f32(s.d * s.m)),
    b: fill(arena.f32(s.m)),
    packA: arena.f32(packA),
    packB: arena.f32(packB),
    out: arena.f32(s.rows * s.mk),
  };
}

/** bias, then + x w term by term in float32: the order the kernel (and XNNPACK) sums in. */
function reference(s: Shape, xc: Float32Array, W: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(s.rows * s.mk);
  for (let r = 0; r < s.rows; r++) {
    for (let c = 0; c < s.mk; c++) {
      let acc = Math.fround(b[s.i0 + c]!);
      for (let k = 0; k < s.d; k++) acc = Math.fround(acc + Math.fround(xc[r * s.d + k]! * W[k * s.m + s.i0 + c]!));
      out[r * s.mk + c] = acc;
    }
  }
  return out;
}

const SHAPES: Shape[] = [
  { rows: 8, d: 16, m: 32, i0: 0, mk: 32 },
  // rows not a multiple of 4, a slice whose width is not a multiple of 8, odd d
  { rows: 7, d: 13, m: 45, i0: 5, mk: 21 },
  { rows: 1, d: 3, m: 10, i0: 9, mk: 1 },
  { rows: 133, d: 67, m: 100, i0: 50, mk: 50 },
  // more rows than one row block (256 KB of x: 128 rows at d = 512)
  { rows: 261, d: 512, m: 40, i0: 8, mk: 27 },
];

/** The encoder product of a setup() on its arrays (false: declined). */
const encoderProduct = (k: LoopKernels, s: Shape, a: ReturnType<typeof setup>, over: Partial<{ xc: Float32Array; packB: Float32Array; rows: number }> = {}) =>
  k.product!({ ...encoderProductArgs(over.rows ?? s.rows, s.d, over.xc ?? a.xc, a.W, s.m, s.i0, s.mk, a.b, a.out), packA: a.packA, packB: over.packB ?? a.packB });

describe('the encoder product (wasm/gemm.ts)', () => {
  for (const s of SHAPES) {
    it(`equals float32 bias + x w summed in order, rows ${s.rows}, d ${s.d}, columns ${s.i0}..${s.i0 + s.mk} of ${s.m}`, () => {
      const a = setup(s, s.rows * 31 + s.d);
      const k = loadSimdLoopsResult(a.arena.memory).kernels!;
      expect(encoderProduct(k, s, a)).toBe(true);
      expect(Array.from(a.out)).toEqual(Array.from(reference(s, a.xc, a.W, a.b)));
    });
  }

  it('declines arrays outside its memory or too short (callers then use tfjs), and the JavaScript kernels have none', () => {
    const s = SHAPES[1]!;
    const a = setup(s, 1);
    const k = loadSimdLoopsResult(a.arena.memory).kernels!;
    expect(encoderProduct(k, s, a, { xc: new Float32Array(a.xc) })).toBe(false);
    expect(encoderProduct(k, s, a, { packB: a.packB.subarray(1) })).toBe(false);
    expect(encoderProduct(k, s, a, { rows: s.rows + 1 })).toBe(false);
    expect(jsLoops.product).toBeUndefined();
  });

  describe('against tfjs on wasm', () => {
    let prev = '';
    beforeAll(async () => {
      prev = tf.getBackend();
      await initBackend('wasm');
    });
    afterAll(async () => {
      if (prev) await tf.setBackend(prev);
    });

    it('gives the bits of tf.fused.matMul with a bias (XNNPACK), so the sparse step is unchanged', () => {
      const s: Shape = { rows: 64, d: 512, m: 96, i0: 24, mk: 64 };
      const a = setup(s, 7);
      encoderProduct(loadSimdLoopsResult(a.arena.memory).kernels!, s, a);
      const w = new Float32Array(s.d * s.mk);
      for (let j = 0; j < s.d; j++) w.set(a.W.subarray(j * s.m + s.i0, j * s.m + s.i0 + s.mk), j * s.mk);
      const want = tf.tidy(() =>
        tf.fused.matMul({ a: tf.tensor2d(a.xc, [s.rows, s.d]), b: tf.tensor2d(w, [s.d, s.mk]), bias: tf.tensor1d(a.b.subarray(s.i0, s.i0 + s.mk)) }).dataSync(),
      );
      expect(Array.from(a.out)).toEqual(Array.from(want));
    });
  });

  describe('product (the general one: strides, blocks of k, bias, mask)', () => {
    interface Case {
      M: number;
      N: number;
      K: number;
      transA: boolean;
      transB: boolean;
      bias: boolean;
      kcMax: number;
      mask: boolean;
    }
    const cases: Case[] = [
      { M: 9, N: 13, K: 7, transA: false, transB: false, bias: false, kcMax: 0, mask: false },
      { M: 130, N: 17, K: 600, transA: true, transB: false, bias: false, kcMax: 0, mask: false },
      { M: 33, N: 20, K: 40, transA: false, transB: true, bias: true, kcMax: 40, mask: true },
      { M: 6, N: 8, K: 50, transA: true, transB: true, bias: true, kcMax: 16, mask: false },
      { M: 5, N: 3, K: 1, transA: false, transB: false, bias: true, kcMax: 0, mask: false },
    ];
    for (const t of cases) {
      it(`equals float32 sums in order: ${JSON.stringify(t)}`, () => {
        const rng = new Rng(t.M * 7 + t.N);
        const { packA, packB } = productPackFloats(t.K, t.N, t.kcMax);
        const arena = new Arena(4 * (2 * t.M * t.K + t.K * t.N + t.N + t.M * t.N + packA + packB) + 4096);
        const f = (n: number) => {
          const a = arena.f32(n);
          for (let i = 0; i < n; i++) a[i] = rng.normal();
          return a;
        };
        // A stored [M, K] (or [K, M] when transposed), B [K, N] (or [N, K]); C with a wider row (ldc).
        const a = f(t.M * t.K);
        const b = f(t.K * t.N);
        const bias = f(t.N);
        const ldc = t.N + 3;
        const c = f(t.M * ldc);
        const before = Float32Array.from(c);
        const A = (i: number, k: number) => (t.transA ? a[k * t.M + i]! : a[i * t.K + k]!);
        const B = (k: number, n: number) => (t.transB ? b[n * t.K + k]! : b[k * t.N + n]!);
        const want = Float32Array.from(c);
        for (let i = 0; i < t.M; i++) {
          for (let n = 0; n < t.N; n++) {
            let acc = t.bias ? bias[n]! : 0;
            for (let k = 0; k < t.K; k++) acc = Math.fround(acc + Math.fround(A(i, k) * B(k, n)));
            want[i * ldc + n] = t.mask && !(before[i * ldc + n]! > 0) ? 0 : acc;
          }
        }
        const k = loadSimdLoopsResult(arena.memory).kernels!;
        const ok = k.product!({
          M: t.M, N: t.N, K: t.K, a, ars: t.transA ? 1 : t.K, acs: t.transA ? t.M : 1, b, brs: t.transB ? 1 : t.N, bcs: t.transB ? t.K : 1,
          ...(t.bias ? { bias } : {}), c, ldc, kcMax: t.kcMax, mask: t.mask, packA: arena.f32(packA), packB: arena.f32(packB),
        });
        expect(ok).toBe(true);
        // Entries past N in each row of C are left as they were.
        expect(Array.from(c)).toEqual(Array.from(want));
      });
    }

    it('declines operands that would be read past their end, and a mask over more than one block of k', () => {
      const arena = new Arena(1 << 20);
      const k = loadSimdLoopsResult(arena.memory).kernels!;
      const { packA, packB } = productPackFloats(8, 8);
      const base = { M: 4, N: 8, K: 8, a: arena.f32(32), ars: 8, acs: 1, b: arena.f32(64), brs: 8, bcs: 1, c: arena.f32(32), ldc: 8, packA: arena.f32(packA), packB: arena.f32(packB) };
      expect(k.product!({ ...base, M: 5 })).toBe(false);
      expect(k.product!({ ...base, b: base.b.subarray(1) })).toBe(false);
      expect(k.product!({ ...base, mask: true, kcMax: 4 })).toBe(false);
      expect(k.product!({ ...base, packB: base.packB.subarray(8) })).toBe(false);
      expect(k.product!(base)).toBe(true);
    });
  });
});
