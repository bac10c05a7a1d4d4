import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../../src/backend/select.js';
import { Arena } from '../../../../src/step/kernels/arena.js';
import { encoderPackFloats, jsLoops } from '../../../../src/step/kernels/loops.js';
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
  const arena = new Arena(4 * (s.rows * s.d + s.d * s.m + s.m + encoderPackFloats(s.d, s.mk) + s.rows * s.mk + 64) + 1024);
  const fill = (a: Float32Array) => {
    for (let i = 0; i < a.length; i++) a[i] = rng.normal();
    return a;
  };
  return {
    arena,
    xc: fill(arena.f32(s.rows * s.d)),
    W: fill(arena.f32(s.d * s.m)),
    b: fill(arena.f32(s.m)),
    pack: arena.f32(encoderPackFloats(s.d, s.mk)),
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

describe('encoderProduct (wasm/gemm.ts)', () => {
  for (const s of SHAPES) {
    it(`equals float32 bias + x w summed in order, rows ${s.rows}, d ${s.d}, columns ${s.i0}..${s.i0 + s.mk} of ${s.m}`, () => {
      const a = setup(s, s.rows * 31 + s.d);
      const k = loadSimdLoopsResult(a.arena.memory).kernels!;
      expect(k.encoderProduct!(s.rows, s.d, a.xc, a.W, s.m, s.i0, s.mk, a.b, a.pack, a.out)).toBe(true);
      expect(Array.from(a.out)).toEqual(Array.from(reference(s, a.xc, a.W, a.b)));
    });
  }

  it('declines arrays outside its memory or too short (callers then use tfjs), and the JavaScript kernels have none', () => {
    const s = SHAPES[1]!;
    const a = setup(s, 1);
    const k = loadSimdLoopsResult(a.arena.memory).kernels!;
    expect(k.encoderProduct!(s.rows, s.d, new Float32Array(a.xc), a.W, s.m, s.i0, s.mk, a.b, a.pack, a.out)).toBe(false);
    expect(k.encoderProduct!(s.rows, s.d, a.xc, a.W, s.m, s.i0, s.mk, a.b, a.pack.subarray(1), a.out)).toBe(false);
    expect(k.encoderProduct!(s.rows + 1, s.d, a.xc, a.W, s.m, s.i0, s.mk, a.b, a.pack, a.out)).toBe(false);
    expect(jsLoops.encoderProduct).toBeUndefined();
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
      loadSimdLoopsResult(a.arena.memory).kernels!.encoderProduct!(s.rows, s.d, a.xc, a.W, s.m, s.i0, s.mk, a.b, a.pack, a.out);
      const w = new Float32Array(s.d * s.mk);
      for (let j = 0; j < s.d; j++) w.set(a.W.subarray(j * s.m + s.i0, j * s.m + s.i0 + s.mk), j * s.mk);
      const want = tf.tidy(() =>
        tf.fused.matMul({ a: tf.tensor2d(a.xc, [s.rows, s.d]), b: tf.tensor2d(w, [s.d, s.mk]), bias: tf.tensor1d(a.b.subarray(s.i0, s.i0 + s.mk)) }).dataSync(),
      );
      expect(Array.from(a.out)).toEqual(Array.from(want));
    });
  });
});
