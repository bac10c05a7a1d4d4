import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Arena } from '../../../src/step/kernels/arena.js';
import {
  jsLoops,
  scanActive,
  transposeActive,
  type LoopKernels,
} from '../../../src/step/kernels/loops.js';
import type { AdamStepConsts } from '../../../src/step/adam.js';
import { loadSimdLoops, loadSimdLoopsResult } from '../../../src/step/kernels/simd-loops.js';
import { Rng } from '../../../src/util/rng.js';

// The SIMD loops (wasm/loops.ts) against the JavaScript reference, on random sparse codes.
// Needs `npm run build` (dist/step/kernels/wasm/loops.wasm; the worker test imports dist/ too).

interface Alloc {
  f32(n: number): Float32Array;
  i32(n: number): Int32Array;
}
const heap: Alloc = { f32: (n) => new Float32Array(n), i32: (n) => new Int32Array(n) };

interface Shape {
  B: number;
  d: number;
  m: number;
  /** The feature range [i0, i1) the loops run on. */
  i0: number;
  i1: number;
  decay: boolean;
}

/** Every input and output of the four loops, for one feature range. */
interface Case {
  nnz: number;
  rowPtr: Int32Array;
  col: Int32Array;
  val: Float32Array;
  W_dec: Float32Array;
  G: Float32Array;
  xc: Float32Array;
  spars: Float32Array;
  decay: Float32Array;
  gPre: Float32Array;
  cscPtr: Int32Array;
  cscRow: Int32Array;
  cscEntry: Int32Array;
  out: Float32Array;
  gb_enc: Float32Array;
  gW_enc: Float32Array;
  gW_dec: Float32Array;
  accE: Float32Array;
  accD: Float32Array;
}

/** A random case in plain arrays; every third row has no active feature. */
function makeCase(s: Shape, seed: number): Case {
  const rng = new Rng(seed);
  const { B, d, m, i0, i1 } = s;
  const mk = i1 - i0;
  const pre = new Float32Array(B * mk);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < mk; c++) pre[b * mk + c] = b % 3 === 2 ? -1 : rng.normal() - 0.8;
  }
  const rows = { rowPtr: new Int32Array(B + 1), col: new Int32Array(B * mk), val: new Float32Array(B * mk) };
  const fired = new Float32Array(m);
  const nnz = scanActive(pre, B, mk, i0, rows, fired, new Float64Array(m), B * mk);
  const cscPtr = new Int32Array(mk + 1);
  const cscRow = new Int32Array(nnz);
  const cscEntry = new Int32Array(nnz);
  transposeActive(B, i0, i1, rows, fired, cscPtr, new Int32Array(mk), cscRow, cscEntry);
  const normal = (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * rng.normal());
  const decay = s.decay ? Float32Array.from({ length: m }, () => 0.1 * rng.next()) : new Float32Array(m);
  return {
    nnz,
    rowPtr: rows.rowPtr,
    col: rows.col.slice(0, nnz),
    val: rows.val.slice(0, nnz),
    W_dec: normal(m * d, 0.2),
    G: normal(B * d),
    xc: normal(B * d),
    spars: normal(m, 0.01),
    decay,
    gPre: normal(nnz),
    cscPtr,
    cscRow,
    cscEntry,
    out: normal(B * d), // garbage: decode overwrites it
    gb_enc: new Float32Array(m),
    gW_enc: new Float32Array(d * m),
    gW_dec: new Float32Array(m * d),
    accE: new Float32Array(d),
    accD: new Float32Array(d),
  };
}

/** A copy of every array of c, allocated by alloc. */
function copyCase(c: Case, alloc: Alloc): Case {
  const out = { nnz: c.nnz } as Case;
  for (const [k, v] of Object.entries(c)) {
    if (v instanceof Float32Array) (out as unknown as Record<string, Float32Array>)[k] = copy(alloc.f32(v.length), v);
    if (v instanceof Int32Array) (out as unknown as Record<string, Int32Array>)[k] = copy(alloc.i32(v.length), v);
  }
  return out;
}

function copy<T extends Float32Array | Int32Array>(dst: T, src: T): T {
  dst.set(src);
  return dst;
}

/** An arena for `copies` copies of c. */
function arenaFor(c: Case, copies = 1): Arena {
  const sizes = Object.values(c).filter((v) => ArrayBuffer.isView(v)).map((v) => (v as Float32Array).byteLength);
  return new Arena(copies * Arena.bytesFor(sizes));
}

/** The sparse step's sequence: decode, dL/dpre (gPre from it), weight gradients. */
function runStep(k: LoopKernels, s: Shape, c: Case): void {
  k.decode(s.B, s.d, c.rowPtr, c.col, c.val, c.W_dec, c.out);
  k.gradPre(s.B, s.d, c.rowPtr, c.col, c.G, c.W_dec, c.spars, c.gPre, c.gb_enc);
  k.weightGrads(
    s.i0, s.i1, s.d, s.m, c.cscPtr, c.cscRow, c.cscEntry, c.gPre, c.val, c.xc, c.G, c.W_dec, c.decay, c.gW_enc,
    c.gW_dec, c.accE, c.accD,
  );
}

function maxAbs(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i]!));
  return s;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i]! - b[i]!));
  return s;
}

/** a matches the reference within float32 accumulation error, relative to the reference's size. */
function expectClose(name: string, a: ArrayLike<number>, ref: ArrayLike<number>, rel = 1e-5): void {
  const scale = Math.max(maxAbs(ref), 1e-30);
  expect(maxAbsDiff(a, ref) / scale, name).toBeLessThanOrEqual(rel);
}

/** SIMD kernels on the arena's memory, and their call counts (to check wasm, not the fallback, ran). */
function simdOn(arena: Arena): { simd: LoopKernels; calls: { wasm: number; js: number } } {
  const r = loadSimdLoopsResult(arena.memory);
  expect(r.reason).toBe('');
  return { simd: r.kernels!, calls: r.calls };
}

// Step 3 of lr 1e-2, gradients clipped (gradScale != 1).
const ADAM: AdamStepConsts = {
  beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 1e-2 / (1 - 0.9 ** 3), sqrtBc2: Math.sqrt(1 - 0.999 ** 3), gradScale: 0.37,
};

describe('SIMD loop kernels', () => {
  it('load on shared memories of any size and explain why they cannot load otherwise', () => {
    for (const pages of [1, 2, 16384]) {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
      expect(loadSimdLoopsResult(memory), `${pages} pages`).toMatchObject({ reason: '' });
      expect(loadSimdLoops(memory)?.name).toBe('simd');
    }
    const unshared = loadSimdLoopsResult(new WebAssembly.Memory({ initial: 2, maximum: 2 }));
    expect(unshared.kernels).toBeNull();
    expect(unshared.reason).toMatch(/shared/);
  });

  for (const d of [1, 3, 4, 17, 64, 512]) {
    for (const decay of [false, true]) {
      it(`decode, gradPre and weightGrads match the reference (d=${d}, decay ${decay ? 'on' : 'off'})`, () => {
        const s: Shape = { B: 23, d, m: 40, i0: 7, i1: 33, decay };
        const ref = makeCase(s, d * 10 + Number(decay));
        expect(ref.nnz).toBeGreaterThan(20);
        const arena = arenaFor(ref);
        const got = copyCase(ref, arena);
        runStep(jsLoops, s, ref);
        const { simd, calls } = simdOn(arena);
        runStep(simd, s, got);
        expect(calls).toEqual({ wasm: 3, js: 0 });
        expectClose('decode out', got.out, ref.out);
        expectClose('gPre', got.gPre, ref.gPre);
        expectClose('gb_enc', got.gb_enc, ref.gb_enc);
        expectClose('gW_enc', got.gW_enc, ref.gW_enc);
        expectClose('gW_dec', got.gW_dec, ref.gW_dec);
        // Outside the feature range nothing was written.
        for (let i = 0; i < s.m; i++) {
          if (i >= s.i0 && i < s.i1) continue;
          expect(got.gb_enc[i]).toBe(0);
          for (let j = 0; j < d; j++) expect([got.gW_dec[i * d + j], got.gW_enc[j * s.m + i]]).toEqual([0, 0]);
        }
      });
    }
  }

  for (const [start, len] of [[0, 0], [0, 3], [5, 64], [3, 1001]] as const) {
    it(`adam matches the reference on [${start}, ${start + len}) with gradScale != 1`, () => {
      const n = start + len + 9;
      const rng = new Rng(start + len);
      const init = (scale: number, pos = false) =>
        Float32Array.from({ length: n }, () => (pos ? scale * rng.next() : scale * rng.normal()));
      const ref = { param: init(1), grad: init(0.1), mom: init(0.01), vel: init(1e-4, true) };
      const before = ref.param.slice();
      const arena = new Arena(Arena.bytesFor([4 * n, 4 * n, 4 * n, 4 * n]));
      const got = {
        param: copy(arena.f32(n), ref.param),
        grad: copy(arena.f32(n), ref.grad),
        mom: copy(arena.f32(n), ref.mom),
        vel: copy(arena.f32(n), ref.vel),
      };
      const untouched = { mom: ref.mom.slice(), vel: ref.vel.slice() };
      jsLoops.adam(ref.param, ref.grad, ref.mom, ref.vel, start, len, ADAM);
      const { simd, calls } = simdOn(arena);
      simd.adam(got.param, got.grad, got.mom, got.vel, start, len, ADAM);
      expect(calls).toEqual({ wasm: 1, js: 0 });
      expectClose('mom', got.mom, ref.mom);
      expectClose('vel', got.vel, ref.vel);
      // The update itself (param - before) to a few float32 ulps of param.
      const step = (p: Float32Array) => p.map((v, i) => v - before[i]!);
      if (len > 0) expectClose('param step', step(got.param), step(ref.param), 1e-3);
      for (let q = 0; q < n; q++) {
        if (q >= start && q < start + len) continue;
        expect([got.param[q], got.mom[q], got.vel[q]]).toEqual([before[q], untouched.mom[q], untouched.vel[q]]);
      }
    });
  }

  for (const [rows, stride, start, len] of [[7, 30, 3, 22], [1, 10, 0, 10], [5, 13, 0, 1], [33, 48, 40, 8]] as const) {
    it(`adamRows gives adam's values on each of ${rows} ranges of ${len}, ${stride} apart from ${start}, and leaves the rest`, () => {
      const n = start + (rows - 1) * stride + len + 5;
      const rng = new Rng(rows * stride + len);
      const arena = new Arena(Arena.bytesFor(Array(8).fill(4 * n)));
      const init = (scale: number, pos = false) => {
        const a = arena.f32(n);
        for (let i = 0; i < n; i++) a[i] = pos ? scale * rng.next() : scale * rng.normal();
        return a;
      };
      const one = { param: init(1), grad: init(0.1), mom: init(0.01), vel: init(1e-4, true) };
      const each = { param: copy(arena.f32(n), one.param), grad: copy(arena.f32(n), one.grad), mom: copy(arena.f32(n), one.mom), vel: copy(arena.f32(n), one.vel) };
      const before = { param: one.param.slice(), mom: one.mom.slice(), vel: one.vel.slice() };
      const { simd, calls } = simdOn(arena);
      expect(simd.adamRows!(one.param, one.grad, one.mom, one.vel, start, len, rows, stride, ADAM)).toBe(true);
      for (let r = 0; r < rows; r++) simd.adam(each.param, each.grad, each.mom, each.vel, start + r * stride, len, ADAM);
      expect(calls).toEqual({ wasm: 1 + rows, js: 0 });
      expect([one.param, one.mom, one.vel]).toEqual([each.param, each.mom, each.vel]);
      let changed = 0;
      for (let q = 0; q < n; q++) {
        const inRange = q >= start && (q - start) % stride < len && q < start + (rows - 1) * stride + len;
        if (inRange) changed += one.mom[q] !== before.mom[q] ? 1 : 0;
        else expect([one.param[q], one.mom[q], one.vel[q]]).toEqual([before.param[q], before.mom[q], before.vel[q]]);
      }
      expect(changed).toBe(rows * len);
    });
  }

  it('adamRows declines arrays outside its memory or too short (the caller runs adam per range), and the JavaScript kernels have none', () => {
    const arena = new Arena(Arena.bytesFor(Array(4).fill(4 * 40)));
    const [p, g, m, v] = [0, 1, 2, 3].map(() => arena.f32(40));
    const { simd } = simdOn(arena);
    expect(simd.adamRows!(p!, g!, m!, v!, 0, 8, 4, 10, ADAM)).toBe(true);
    expect(simd.adamRows!(p!, g!, m!, v!, 0, 8, 5, 10, ADAM)).toBe(false);
    expect(simd.adamRows!(p!, g!, m!, new Float32Array(40), 0, 8, 4, 10, ADAM)).toBe(false);
    expect(simd.adamRows!(p!, g!, m!, v!, 0, 8, 4, 7, ADAM)).toBe(false);
    expect(jsLoops.adamRows).toBeUndefined();
  });

  it('fall back to the reference, bit for bit, for arrays outside their memory', () => {
    const s: Shape = { B: 19, d: 17, m: 30, i0: 3, i1: 25, decay: true };
    const ref = makeCase(s, 99);
    const { simd, calls } = simdOn(new Arena(1 << 16));
    const outside = copyCase(ref, heap);
    runStep(jsLoops, s, ref);
    runStep(simd, s, outside);
    expect(outside).toEqual(ref);
    expect(calls).toEqual({ wasm: 0, js: 3 });
    // One array outside is enough.
    const arena = arenaFor(ref);
    const mixed = copyCase(makeCase(s, 99), arena);
    mixed.W_dec = mixed.W_dec.slice();
    runStep(loadSimdLoops(arena.memory)!, s, mixed);
    expect(copyCase(mixed, heap)).toEqual(ref);
    const p = Float32Array.of(1, 2, 3, 4, 5);
    const q = p.slice();
    const g = Float32Array.of(0.5, -1, 2, 0, 3);
    simd.adam(p, g, new Float32Array(5), new Float32Array(5), 0, 5, ADAM);
    jsLoops.adam(q, g, new Float32Array(5), new Float32Array(5), 0, 5, ADAM);
    expect(p).toEqual(q);
  });

  it('two instances on one memory (two workers) agree and split a feature range exactly', () => {
    const s: Shape = { B: 31, d: 64, m: 48, i0: 0, i1: 48, decay: true };
    const base = makeCase(s, 7);
    const arena = arenaFor(base, 3);
    const [one, two] = [simdOn(arena).simd, simdOn(arena).simd];
    const a = copyCase(base, arena);
    const b = copyCase(base, arena);
    runStep(one, s, a);
    runStep(two, s, b);
    expect(copyCase(b, heap)).toEqual(copyCase(a, heap));
    // weightGrads over [0, 20) by one and [20, 48) by the other (the CSC of [20, 48) is the tail of [0, 48)'s).
    const split = copyCase(base, arena);
    split.gPre.set(a.gPre);
    const wg = (k: LoopKernels, i0: number, i1: number) =>
      k.weightGrads(
        i0, i1, s.d, s.m, split.cscPtr.subarray(i0 - s.i0), split.cscRow, split.cscEntry, split.gPre, split.val, split.xc,
        split.G, split.W_dec, split.decay, split.gW_enc, split.gW_dec, split.accE, split.accD,
      );
    wg(one, 0, 20);
    wg(two, 20, 48);
    expect(Array.from(split.gW_enc)).toEqual(Array.from(a.gW_enc));
    expect(Array.from(split.gW_dec)).toEqual(Array.from(a.gW_dec));
  });

  it('run from two worker threads on one shared memory', async () => {
    const n = 4099;
    const arena = new Arena(Arena.bytesFor([4 * n, 4 * n, 4 * n, 4 * n]));
    const rng = new Rng(3);
    const arrays = [arena.f32(n), arena.f32(n), arena.f32(n), arena.f32(n)] as const;
    const [param, grad, mom, vel] = arrays;
    for (let q = 0; q < n; q++) {
      param[q] = rng.normal();
      grad[q] = rng.normal();
      mom[q] = 0.01 * rng.normal();
      vel[q] = 1e-4 * rng.next();
    }
    const ref = arrays.map((a) => a.slice());
    jsLoops.adam(ref[0]!, ref[1]!, ref[2]!, ref[3]!, 0, n, ADAM);
    const url = new URL('../../../dist/step/kernels/simd-loops.js', import.meta.url).href;
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(${JSON.stringify(url)}).then(({ loadSimdLoopsResult }) => {
        const { memory, offsets, n, start, len, c } = workerData;
        const { kernels, reason, calls } = loadSimdLoopsResult(memory);
        if (!kernels) throw new Error(reason);
        const [p, g, m, v] = offsets.map((o) => new Float32Array(memory.buffer, o, n));
        kernels.adam(p, g, m, v, start, len, c);
        parentPort.postMessage(calls);
      });`;
    const offsets = arrays.map((a) => a.byteOffset);
    const half = 2050;
    const run = (start: number, len: number) =>
      new Promise<{ wasm: number; js: number }>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { memory: arena.memory, offsets, n, start, len, c: ADAM } });
        w.once('message', resolve);
        w.once('error', reject);
        w.once('exit', (status) => (status === 0 ? undefined : reject(new Error(`worker exited with ${status}`))));
      });
    expect(await Promise.all([run(0, half), run(half, n - half)])).toEqual([{ wasm: 1, js: 0 }, { wasm: 1, js: 0 }]);
    expectClose('param', param, ref[0]!);
    expectClose('mom', mom, ref[2]!);
    expectClose('vel', vel, ref[3]!);
  });
});
