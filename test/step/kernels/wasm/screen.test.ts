import { describe, expect, it } from 'vitest';
import { Arena } from '../../../../src/step/kernels/arena.js';
import { encoderProductArgs, encoderScreenArgs, jsLoops, productPackFloats, screenRowRange, screenRowsFloats, screenScratch } from '../../../../src/step/kernels/loops.js';
import { loadSimdLoopsResult } from '../../../../src/step/kernels/simd-loops.js';
import { Rng } from '../../../../src/util/rng.js';

// The screened encoder product (wasm/screen.ts, part of loops.wasm: needs `npm run build`) against
// the plain one (wasm/gemm.ts, itself tfjs' product to the bit): every entry above 0 the same bits,
// every other entry <= 0, and the tiles it rules out really skipped.

interface Shape {
  rows: number;
  d: number;
  m: number;
  i0: number;
  mk: number;
}

/** One product's arrays in a fresh Arena: x, W_enc (fill's values), b_enc (bias's). */
function setup(s: Shape, fill: (rng: Rng) => number, bias: (rng: Rng, j: number) => number, seed = 1) {
  const rng = new Rng(seed);
  const { packA, packB } = productPackFloats(s.d, s.mk, s.d);
  const q = screenScratch(s.d, s.mk);
  const prepared = screenRowsFloats(s.rows, s.d);
  const arena = new Arena(4 * (s.rows * s.d + s.d * s.m + s.m + packA + packB + 3 * s.rows * s.mk + q.qPack + 2 * q.qStats + prepared) + 8192);
  const f32 = (n: number, v: (i: number) => number) => {
    const a = arena.f32(n);
    for (let i = 0; i < n; i++) a[i] = v(i);
    return a;
  };
  const xc = f32(s.rows * s.d, () => fill(rng));
  const W = f32(s.d * s.m, () => fill(rng));
  const b = f32(s.m, (j) => bias(rng, j));
  return {
    arena, xc, W, b,
    packA: arena.f32(packA), packB: arena.f32(packB),
    plain: arena.f32(s.rows * s.mk), screened: f32(s.rows * s.mk, () => 12345),
    qPack: arena.f32(q.qPack), qStats: arena.f64(q.qStats),
    rows: arena.f32(prepared), fromRows: f32(s.rows * s.mk, () => 54321),
  };
}

type Setup = ReturnType<typeof setup>;

/** Both products; the screened one's exact tiles. */
function both(s: Shape, a: Setup): number {
  const k = loadSimdLoopsResult(a.arena.memory).kernels!;
  expect(k.product!({ ...encoderProductArgs(s.rows, s.d, a.xc, a.W, s.m, s.i0, s.mk, a.b, a.plain), packA: a.packA, packB: a.packB })).toBe(true);
  return k.screenedProduct!({ ...encoderScreenArgs(s.rows, s.d, a.xc, a.W, s.m, s.i0, s.mk, a.b, a.screened), packB: a.packB, qPack: a.qPack, qStats: a.qStats });
}

/** Entries above 0 in either: the same bits in both; every other screened entry <= 0 (NaN where the plain one is NaN). */
function expectScreenedEqual(a: Setup): { positive: number } {
  let positive = 0;
  for (let i = 0; i < a.plain.length; i++) {
    const p = a.plain[i]!;
    const q = a.screened[i]!;
    if (p > 0 || q > 0 || Number.isNaN(p)) {
      if (!Object.is(p, q)) expect({ entry: i, screened: q }).toEqual({ entry: i, screened: p });
      if (p > 0) positive++;
    } else if (!(q <= 0)) {
      expect({ entry: i, screened: q }).toEqual({ entry: i, screened: '<= 0' });
    }
  }
  return { positive };
}

const tiles = (s: Shape) => Math.ceil(s.rows / 4) * Math.ceil(s.mk / 8);
const normal = (scale: number) => (rng: Rng) => rng.normal() * scale;

const SHAPES: Shape[] = [
  { rows: 8, d: 16, m: 32, i0: 0, mk: 32 },
  // rows not a multiple of 4, a width not a multiple of 8, odd d
  { rows: 7, d: 13, m: 45, i0: 5, mk: 21 },
  { rows: 1, d: 3, m: 10, i0: 9, mk: 1 },
  { rows: 133, d: 67, m: 100, i0: 50, mk: 50 },
  // more rows than a row block, and d past gemm's block of k (512)
  { rows: 261, d: 600, m: 40, i0: 8, mk: 27 },
];

describe('the screened encoder product (wasm/screen.ts)', () => {
  for (const s of SHAPES) {
    for (const [label, shift] of [['few active', -2.5], ['about half active', 0]] as const) {
      it(`gives the plain product's entries above 0 to the bit, ${label}: rows ${s.rows}, d ${s.d}, columns ${s.i0}..${s.i0 + s.mk} of ${s.m}`, () => {
        const a = setup(s, normal(1 / Math.sqrt(Math.sqrt(s.d))), (rng) => shift + 0.3 * rng.normal(), s.rows + s.d);
        const exact = both(s, a);
        expect(exact).toBeGreaterThanOrEqual(0);
        expect(exact).toBeLessThanOrEqual(tiles(s));
        expectScreenedEqual(a);
      });
    }
  }

  it('skips the tiles it rules out: none active computes no tile and writes 0; all active computes every tile', () => {
    const s = SHAPES[3]!;
    const none = setup(s, normal(0.1), () => -100);
    expect(both(s, none)).toBe(0);
    expect(Array.from(none.screened).every((v) => v === 0)).toBe(true);
    const all = setup(s, normal(0.1), () => 100);
    expect(both(s, all)).toBe(tiles(s));
    expect(Array.from(all.screened)).toEqual(Array.from(all.plain));
  });

  it('computes only the tiles that hold an active entry: one column active in every row, the 16 tiles of its panel', () => {
    const s: Shape = { rows: 64, d: 32, m: 64, i0: 0, mk: 64 };
    const a = setup(s, normal(0.2), () => -20);
    a.b[37] = 20; // column 37: positive in every row, so the 16 tiles of its panel
    expect(both(s, a)).toBe(16);
    expect(expectScreenedEqual(a).positive).toBe(64);
  });

  it('keeps the entries whose exact value is within rounding of 0 (the bound is not too tight)', () => {
    // Each bias cancels row 0's product to float32 rounding, so row 0's entries are ~1e-8 of the
    // terms, either sign; rows 1.. are near 0 too. Any bound short of the quantization and
    // rounding error loses some of the positive ones.
    for (const d of [8, 64, 512, 700]) {
      const s: Shape = { rows: 16, d, m: 96, i0: 0, mk: 96 };
      const a = setup(s, normal(1), () => 0, d);
      for (let r = 1; r < s.rows; r++) for (let k = 0; k < d; k++) a.xc[r * d + k] = a.xc[k]! * (1 + 1e-7 * r);
      both(s, a);
      for (let j = 0; j < s.mk; j++) a.b[j] = -a.plain[j]!;
      const exact = both(s, a);
      const { positive } = expectScreenedEqual(a);
      expect(positive).toBeGreaterThan(0);
      expect(exact).toBe(tiles(s));
    }
  });

  it('keeps an entry whose quantization errors all point one way (the bound is the worst case, not the typical one)', () => {
    // Row 0 of x and column 0 of W: largest value 1, every other value just below halfway between
    // two quantization steps, so every residual is about +s/2 (+t/2) and the quantized product
    // falls short of the real one by about the whole bound. The bias leaves the real value at
    // +2e-4, far above float32 rounding: half the bound would rule the entry out.
    for (const d of [64, 300]) {
      const s: Shape = { rows: 4, d, m: 8, i0: 0, mk: 8 };
      const Q = Math.min(Math.floor(Math.sqrt((2 ** 31 - 1) / d)) - 1, 32766);
      const a = setup(s, normal(0.1), () => -100, d);
      const rng = new Rng(d);
      const halfway = () => Math.fround((Math.floor(rng.next() * (Q - 2)) + 0.499) / Q);
      for (let k = 0; k < d; k++) {
        a.xc[k] = k === 0 ? 1 : halfway();
        a.W[k * s.m] = k === 0 ? 1 : halfway();
      }
      let real = 0;
      for (let k = 0; k < d; k++) real += a.xc[k]! * a.W[k * s.m]!;
      a.b[0] = Math.fround(-real + 2e-4);
      both(s, a);
      expect(a.plain[0]).toBeGreaterThan(0);
      expectScreenedEqual(a);
    }
  });

  it('never rules out a row or column with NaN or infinity, nor one too small to quantize; zero rows and columns by their bias', () => {
    const s: Shape = { rows: 12, d: 20, m: 24, i0: 0, mk: 24 };
    const a = setup(s, normal(0.5), () => -50);
    a.xc[0 * s.d + 3] = Number.NaN; // row 0
    a.xc[5 * s.d + 7] = Infinity; // row 5
    for (let k = 0; k < s.d; k++) a.xc[9 * s.d + k] = 1e-44 * ((k % 3) - 1); // row 9: subnormal
    for (let k = 0; k < s.d; k++) a.xc[10 * s.d + k] = 0; // row 10: zero
    a.W[2 * s.m + 11] = -Infinity; // column 11
    for (let k = 0; k < s.d; k++) a.W[k * s.m + 19] = 0; // column 19: zero ...
    a.b[19] = 1; // ... with a positive bias: active in every row
    a.b[20] = 1e-30; // column 20: active where rows are (near) zero
    both(s, a);
    expectScreenedEqual(a);
    for (const r of [0, 5]) for (let j = 0; j < s.mk; j++) expect(Object.is(a.screened[r * s.mk + j], a.plain[r * s.mk + j])).toBe(true);
    for (let r = 0; r < s.rows; r++) expect(Object.is(a.screened[r * s.mk + 11], a.plain[r * s.mk + 11])).toBe(true);
    for (let r = 0; r < s.rows; r++) if (r !== 0 && r !== 5) expect(a.screened[r * s.mk + 19]).toBe(1);
    expect(a.screened[10 * s.mk + 20]).toBe(Math.fround(1e-30));
  });

  it('declines arrays outside its memory or too short, and the JavaScript kernels have none', () => {
    const s = SHAPES[1]!;
    const a = setup(s, normal(1), () => 0);
    const k = loadSimdLoopsResult(a.arena.memory).kernels!;
    const args = { ...encoderScreenArgs(s.rows, s.d, a.xc, a.W, s.m, s.i0, s.mk, a.b, a.screened), packB: a.packB, qPack: a.qPack, qStats: a.qStats };
    expect(k.screenedProduct!({ ...args, a: new Float32Array(a.xc) })).toBe(-1);
    expect(k.screenedProduct!({ ...args, qPack: a.qPack.subarray(0, 8) })).toBe(-1);
    expect(k.screenedProduct!({ ...args, qStats: a.qStats.subarray(1) })).toBe(-1);
    expect(k.screenedProduct!({ ...args, M: s.rows + 1 })).toBe(-1);
    expect(k.screenedProduct!(args)).toBeGreaterThanOrEqual(0);
    expect(jsLoops.screenedProduct).toBeUndefined();
  });
});

describe('the screened product over rows prepared once (wasm/screen.ts screenRows)', () => {
  /** The rows prepared in `shares` ranges (screenRowRange, last first), then the product over them. */
  const fromRows = (s: Shape, a: Setup, shares: number): number => {
    const k = loadSimdLoopsResult(a.arena.memory).kernels!;
    for (let w = shares - 1; w >= 0; w--) {
      const [r0, r1] = screenRowRange(s.rows, shares, w);
      expect(k.screenRows!(s.rows, r0, r1, s.d, a.xc, s.d, a.rows)).toBe(true);
    }
    // The prepared product reads the rows, not A: A spoiled now changes nothing.
    const xc = Float32Array.from(a.xc);
    a.xc.fill(Number.NaN);
    const exact = k.screenedProduct!({ ...encoderScreenArgs(s.rows, s.d, a.xc, a.W, s.m, s.i0, s.mk, a.b, a.fromRows), packB: a.packB, qPack: a.qPack, qStats: a.qStats, rows: a.rows });
    a.xc.set(xc);
    return exact;
  };

  for (const s of SHAPES) {
    for (const shares of [1, 2, 3, 5]) {
      it(`gives screen's output and count to the bit, rows prepared in ${shares} share(s): rows ${s.rows}, d ${s.d}, columns ${s.i0}..${s.i0 + s.mk}`, () => {
        const a = setup(s, normal(1 / Math.sqrt(Math.sqrt(s.d))), (rng) => -1 + 0.5 * rng.normal(), s.rows * 7 + shares);
        const exact = fromRows(s, a, shares);
        expect(exact).toBe(both(s, a));
        // The larger shapes: some tiles computed, some ruled out.
        if (tiles(s) >= 100) expect(exact).toBeGreaterThan(0);
        if (tiles(s) >= 100) expect(exact).toBeLessThan(tiles(s));
        for (let i = 0; i < a.screened.length; i++) if (!Object.is(a.fromRows[i], a.screened[i])) expect({ entry: i, value: a.fromRows[i] }).toEqual({ entry: i, value: a.screened[i] });
        expectScreenedEqual(a);
      });
    }
  }

  it('keeps rows with NaN, infinity or values too small to quantize unscreened', () => {
    const s: Shape = { rows: 13, d: 20, m: 24, i0: 0, mk: 24 };
    const a = setup(s, normal(0.5), () => -50);
    a.xc[3] = Number.NaN;
    a.xc[5 * s.d + 7] = Infinity;
    for (let k = 0; k < s.d; k++) a.xc[9 * s.d + k] = 1e-44 * ((k % 3) - 1);
    expect(fromRows(s, a, 2)).toBe(both(s, a));
    expect(Array.from(a.fromRows).map((v, i) => Object.is(v, a.screened[i]))).not.toContain(false);
  });

  it('splits the rows in whole groups of 4 that cover them once', () => {
    for (const [M, workers] of [[4096, 16], [37, 3], [5, 4], [3, 2], [261, 5]] as const) {
      let next = 0;
      for (let w = 0; w < workers; w++) {
        const [r0, r1] = screenRowRange(M, workers, w);
        expect(r0).toBe(next);
        expect(r0 % 4).toBe(0);
        if (r1 < M) expect(r1 % 4).toBe(0);
        next = Math.max(r0, r1);
      }
      expect(next).toBe(M);
    }
  });

  it('declines a range not in whole groups, a region too short or outside its memory', () => {
    const s = SHAPES[3]!;
    const a = setup(s, normal(1), () => 0);
    const k = loadSimdLoopsResult(a.arena.memory).kernels!;
    expect(k.screenRows!(s.rows, 2, 8, s.d, a.xc, s.d, a.rows)).toBe(false);
    expect(k.screenRows!(s.rows, 0, 6, s.d, a.xc, s.d, a.rows)).toBe(false);
    expect(k.screenRows!(s.rows, 0, s.rows, s.d, a.xc, s.d, a.rows.subarray(8))).toBe(false);
    expect(k.screenRows!(s.rows, 0, s.rows, s.d, new Float32Array(a.xc), s.d, a.rows)).toBe(false);
    expect(k.screenRows!(s.rows, 0, s.rows, s.d, a.xc, s.d, a.rows)).toBe(true);
    const args = { ...encoderScreenArgs(s.rows, s.d, a.xc, a.W, s.m, s.i0, s.mk, a.b, a.fromRows), packB: a.packB, qPack: a.qPack, qStats: a.qStats };
    expect(k.screenedProduct!({ ...args, rows: a.rows.subarray(8) })).toBe(-1);
    expect(k.screenedProduct!({ ...args, rows: new Float32Array(a.rows) })).toBe(-1);
    expect(k.screenedProduct!({ ...args, rows: a.rows })).toBeGreaterThanOrEqual(0);
    expect(jsLoops.screenRows).toBeUndefined();
  });
});
