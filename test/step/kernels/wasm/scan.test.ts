import { describe, expect, it } from 'vitest';
import { Arena } from '../../../../src/step/kernels/arena.js';
import { scanActive } from '../../../../src/step/kernels/loops.js';
import { loadSimdLoopsResult } from '../../../../src/step/kernels/simd-loops.js';
import { Rng } from '../../../../src/util/rng.js';

// The SIMD scan (wasm/scan.ts) against the JavaScript reference (loops.ts scanActive): the same
// entries, counts and sums to the bit. Needs `npm run build` (dist/step/kernels/wasm/loops.wasm).

interface ScanCase {
  B: number;
  mk: number;
  i0: number;
  m: number;
  /** Share of entries above the threshold. */
  active: number;
  rowThreshold: boolean;
}

/** Pre-activations with ties at the threshold, -0, NaN and infinities sprinkled in. */
function preFor(c: ScanCase, rng: Rng, thresholds: Float32Array | undefined): Float32Array {
  const pre = new Float32Array(c.B * c.mk);
  for (let b = 0; b < c.B; b++) {
    const t = thresholds ? thresholds[b]! : 0;
    for (let j = 0; j < c.mk; j++) {
      const u = rng.next();
      pre[b * c.mk + j] = u < c.active ? t + Math.abs(rng.normal()) + 1e-3 : u < c.active + 0.02 ? t : -Math.abs(rng.normal());
    }
  }
  pre[1] = -0;
  pre[2] = NaN;
  pre[3] = Infinity;
  if (pre.length > 5) pre[5] = -Infinity;
  return pre;
}

function run(c: ScanCase, seed: number, capacity = c.B * c.mk) {
  const rng = new Rng(seed);
  const thresholds = c.rowThreshold ? Float32Array.from({ length: c.B }, (_, b) => (b % 4 === 0 ? 0 : Math.abs(rng.normal()))) : undefined;
  const pre = preFor(c, rng, thresholds);
  const arena = new Arena(Arena.bytesFor([4 * pre.length, 4 * (c.B + 1), 8 * capacity, 4 * c.m, 8 * c.m, 4 * c.B]));
  const simd = loadSimdLoopsResult(arena.memory);
  expect(simd.reason).toBe('');
  const inArena = {
    pre: arena.f32(pre.length),
    rows: { rowPtr: arena.i32(c.B + 1), col: arena.i32(capacity), val: arena.f32(capacity) },
    fired: arena.f32(c.m),
    fSum: arena.f64(c.m),
    thr: thresholds ? arena.f32(c.B) : undefined,
  };
  inArena.pre.set(pre);
  if (thresholds) inArena.thr!.set(thresholds);
  // Stale counts outside the slice must survive; inside it they are reset.
  inArena.fired.fill(7);
  inArena.fSum.fill(7);
  const ref = { rows: { rowPtr: new Int32Array(c.B + 1), col: new Int32Array(capacity), val: new Float32Array(capacity) }, fired: new Float32Array(c.m).fill(7), fSum: new Float64Array(c.m).fill(7) };
  const want = scanActive(pre, c.B, c.mk, c.i0, ref.rows, ref.fired, ref.fSum, capacity, thresholds);
  const got = simd.kernels!.scan(inArena.pre, c.B, c.mk, c.i0, inArena.rows, inArena.fired, inArena.fSum, capacity, inArena.thr);
  return { want, got, ref, inArena, calls: simd.calls };
}

describe('the SIMD scan for active entries', () => {
  const cases: ScanCase[] = [
    { B: 64, mk: 512, i0: 0, m: 512, active: 0.03, rowThreshold: false },
    { B: 37, mk: 203, i0: 101, m: 400, active: 0.2, rowThreshold: false },
    { B: 50, mk: 66, i0: 3, m: 80, active: 0.1, rowThreshold: true },
    { B: 9, mk: 3, i0: 1, m: 4, active: 0.5, rowThreshold: false },
  ];
  for (const c of cases) {
    it(`finds the reference's entries, counts and sums to the bit (B ${c.B}, mk ${c.mk}, i0 ${c.i0}${c.rowThreshold ? ', a threshold per row' : ''})`, () => {
      const { want, got, ref, inArena, calls } = run(c, c.B * 31 + c.mk);
      expect(calls.wasm).toBe(1);
      expect(got).toBe(want);
      expect(want).toBeGreaterThan(0);
      expect(Array.from(inArena.rows.rowPtr)).toEqual(Array.from(ref.rows.rowPtr));
      expect(Array.from(inArena.rows.col.subarray(0, want))).toEqual(Array.from(ref.rows.col.subarray(0, want)));
      expect(Buffer.from(inArena.rows.val.buffer, inArena.rows.val.byteOffset, 4 * want).equals(Buffer.from(ref.rows.val.buffer, 0, 4 * want))).toBe(true);
      expect(Array.from(inArena.fired)).toEqual(Array.from(ref.fired));
      expect(Array.from(inArena.fSum)).toEqual(Array.from(ref.fSum));
      expect(inArena.fired[c.i0 + c.mk - 1]).not.toBe(7);
    });
  }

  it('gives -1 when the entries pass the capacity, as the reference does', () => {
    const c = { B: 40, mk: 64, i0: 0, m: 64, active: 0.3, rowThreshold: false };
    const { want, got } = run(c, 5, 100);
    expect(want).toBe(-1);
    expect(got).toBe(-1);
  });

  it('runs the reference on arrays outside its memory', () => {
    const arena = new Arena(1024);
    const simd = loadSimdLoopsResult(arena.memory);
    const pre = Float32Array.from([1, -1, 2, 0]);
    const rows = { rowPtr: new Int32Array(3), col: new Int32Array(4), val: new Float32Array(4) };
    expect(simd.kernels!.scan(pre, 2, 2, 0, rows, new Float32Array(2), new Float64Array(2), 4)).toBe(2);
    expect(Array.from(rows.rowPtr)).toEqual([0, 1, 2]);
    expect(Array.from(rows.col.subarray(0, 2))).toEqual([0, 0]);
    expect(simd.calls).toEqual({ wasm: 0, js: 1 });
  });
});
