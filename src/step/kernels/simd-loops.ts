/**
 * The sparse step's host loops in WebAssembly SIMD (wasm/loops.ts, compiled by `npm run build` to
 * dist/step/kernels/wasm/loops.wasm), instantiated against the worker kernel's shared memory.
 * Each function runs the wasm export when every array argument is a view of that memory and the
 * JavaScript reference (jsLoops) otherwise, so the kernels are always correct, only faster when
 * the arrays live in the Arena.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { adamRun, type AdamStepConsts } from '../adam.js';
import { columnSums, decodeActive, gradPreActive, productPackFloats, reluColumns, scanActive, weightGradsRange, type LoopKernels, type ProductArgs, type RowScratch, type ScreenArgs } from './loops.js';

/** The module's exports (wasm/loops.ts); arrays are byte addresses, i32 arguments counts/indices. */
interface LoopsExports {
  scanActive(
    pre: number, B: number, mk: number, i0: number, rowPtr: number, col: number, val: number, fired: number, fSum: number,
    capacity: number, rowThreshold: number,
  ): number;
  decodeActive(B: number, d: number, rowPtr: number, col: number, val: number, W_dec: number, out: number): void;
  gradPreActive(
    B: number, d: number, rowPtr: number, col: number, G: number, W_dec: number, spars: number, gPre: number, gb_enc: number,
  ): void;
  weightGradsRange(
    i0: number, i1: number, d: number, m: number, cscPtr: number, cscRow: number, cscEntry: number, gPre: number,
    val: number, xc: number, G: number, W_dec: number, decay: number, gW_enc: number, gW_dec: number, accE: number,
    accD: number,
  ): void;
  adamRun(
    param: number, grad: number, mom: number, vel: number, start: number, len: number, rows: number, stride: number,
    beta1: number, beta2: number, eps: number, stepSize: number, sqrtBc2: number, gradScale: number,
  ): void;
  gemm(
    M: number, N: number, K: number, a: number, ars: number, acs: number, b: number, brs: number, bcs: number,
    hasBias: number, bias: number, c: number, ldc: number, kcMax: number, mask: number, packA: number, packB: number,
  ): void;
  screen(
    M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number, bias: number, c: number, ldc: number,
    packB: number, qPack: number, qStats: number,
  ): number;
  screenPackBytes(K: number, N: number): number;
  screenRows(M: number, r0: number, r1: number, K: number, a: number, lda: number, rows: number): void;
  screenRowsBytes(M: number, K: number): number;
  screenRowsProduct(
    M: number, N: number, K: number, b: number, ldb: number, bias: number, c: number, ldc: number, packB: number, qPack: number,
    qStats: number, rows: number,
  ): number;
  reluColumns(f: number, rows: number, mk: number, count: number, sum: number): void;
  columnSums(f: number, rows: number, mk: number, out: number): void;
  screenStatsBytes(N: number): number;
  centreRows(r0: number, r1: number, d: number, x: number, b_dec: number, xc: number, xSum: number): void;
  residualRows(
    r0: number, r1: number, rows: number, d: number, partials: number, nParts: number, b_dec: number, x: number, mean: number,
    G: number, gSum: number, out: number,
  ): void;
}

export interface SimdLoopsResult {
  /** The SIMD kernels, or null when they cannot run here (then use jsLoops). */
  kernels: LoopKernels | null;
  /** Why kernels is null ('' when it is not), for logs. */
  reason: string;
  /** Calls the kernels answered in wasm and through the JavaScript fallback (arrays outside the memory). */
  calls: { wasm: number; js: number };
}

/**
 * Where the compiled module may be: beside this file's compiled form (dist/step/kernels/ ->
 * ./wasm/), or, when this file runs from src/ (tests through vitest), in dist/ of the package.
 */
const WASM_CANDIDATES = [
  new URL('./wasm/loops.wasm', import.meta.url),
  new URL('../../../dist/step/kernels/wasm/loops.wasm', import.meta.url),
];

// The smallest module using a v128 instruction (from wasm-feature-detect): tells "no SIMD here"
// apart from a missing or broken loops.wasm.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

// Compiled once per thread; instances are cheap.
let compiled: { module: WebAssembly.Module | null; reason: string } | undefined;

function compileOnce(): { module: WebAssembly.Module | null; reason: string } {
  if (compiled) return compiled;
  compiled = compile();
  return compiled;
}

function compile(): { module: WebAssembly.Module | null; reason: string } {
  if (!WebAssembly.validate(SIMD_PROBE)) return { module: null, reason: 'WebAssembly SIMD is not supported by this runtime' };
  const file = WASM_CANDIDATES.find((u) => fs.existsSync(u));
  if (!file) {
    return { module: null, reason: `${fileURLToPath(WASM_CANDIDATES[0]!)} is missing (run \`npm run build\`)` };
  }
  try {
    return { module: new WebAssembly.Module(fs.readFileSync(file)), reason: '' };
  } catch (e) {
    return { module: null, reason: `${fileURLToPath(file)} did not compile: ${(e as Error).message}` };
  }
}

/**
 * SIMD loop kernels on arrays in `memory` (shared, as the Arena makes it), or null and the reason
 * they cannot run. Instantiate once per thread; instances on one memory may run concurrently on
 * disjoint outputs.
 */
export function loadSimdLoopsResult(memory: WebAssembly.Memory): SimdLoopsResult {
  const { module, reason } = compileOnce();
  const calls = { wasm: 0, js: 0 };
  if (!module) return { kernels: null, reason, calls };
  let ex: LoopsExports;
  try {
    ex = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as LoopsExports;
  } catch (e) {
    const message = (e as Error).message;
    return { kernels: null, reason: `instantiating loops.wasm failed (is the memory shared?): ${message}`, calls };
  }
  // Read per call: a growable memory's buffer changes when it grows (the Arena's never does).
  const inMem = (a: ArrayBufferView) => a.buffer === memory.buffer;
  const use = (wasm: boolean): boolean => {
    if (wasm) calls.wasm++;
    else calls.js++;
    return wasm;
  };
  const kernels: LoopKernels = {
    name: 'simd',
    scan(pre, B, mk, i0, out, fired, fSum, capacity, rowThreshold) {
      const { rowPtr, col, val } = out;
      // Only where every element it reads or writes lies inside its array: in wasm a store past one lands in its neighbour.
      const fits =
        pre.length >= B * mk && rowPtr.length >= B + 1 && col.length >= capacity && val.length >= capacity &&
        fired.length >= i0 + mk && fSum.length >= i0 + mk && (!rowThreshold || rowThreshold.length >= B);
      const arrays = [pre, rowPtr, col, val, fired, fSum, ...(rowThreshold ? [rowThreshold] : [])];
      if (!use(fits && arrays.every(inMem))) return scanActive(pre, B, mk, i0, out, fired, fSum, capacity, rowThreshold);
      return ex.scanActive(
        pre.byteOffset, B, mk, i0, rowPtr.byteOffset, col.byteOffset, val.byteOffset, fired.byteOffset, fSum.byteOffset, capacity,
        rowThreshold ? rowThreshold.byteOffset : 0,
      );
    },
    decode(B, d, rowPtr, col, val, W_dec, out) {
      if (use(inMem(rowPtr) && inMem(col) && inMem(val) && inMem(W_dec) && inMem(out))) {
        ex.decodeActive(B, d, rowPtr.byteOffset, col.byteOffset, val.byteOffset, W_dec.byteOffset, out.byteOffset);
      } else {
        decodeActive(B, d, rowPtr, col, val, W_dec, out);
      }
    },
    gradPre(B, d, rowPtr, col, G, W_dec, spars, gPre, gb_enc) {
      if (use(inMem(rowPtr) && inMem(col) && inMem(G) && inMem(W_dec) && inMem(spars) && inMem(gPre) && inMem(gb_enc))) {
        ex.gradPreActive(
          B, d, rowPtr.byteOffset, col.byteOffset, G.byteOffset, W_dec.byteOffset, spars.byteOffset, gPre.byteOffset,
          gb_enc.byteOffset,
        );
      } else {
        gradPreActive(B, d, rowPtr, col, G, W_dec, spars, gPre, gb_enc);
      }
    },
    weightGrads(i0, i1, d, m, cscPtr, cscRow, cscEntry, gPre, val, xc, G, W_dec, decay, gW_enc, gW_dec, accE, accD) {
      const wasm =
        inMem(cscPtr) && inMem(cscRow) && inMem(cscEntry) && inMem(gPre) && inMem(val) && inMem(xc) && inMem(G) &&
        inMem(W_dec) && inMem(decay) && inMem(gW_enc) && inMem(gW_dec) && inMem(accE) && inMem(accD);
      if (use(wasm)) {
        ex.weightGradsRange(
          i0, i1, d, m, cscPtr.byteOffset, cscRow.byteOffset, cscEntry.byteOffset, gPre.byteOffset, val.byteOffset,
          xc.byteOffset, G.byteOffset, W_dec.byteOffset, decay.byteOffset, gW_enc.byteOffset, gW_dec.byteOffset,
          accE.byteOffset, accD.byteOffset,
        );
      } else {
        weightGradsRange(i0, i1, d, m, cscPtr, cscRow, cscEntry, gPre, val, xc, G, W_dec, decay, gW_enc, gW_dec, accE, accD);
      }
    },
    adam(param, grad, mom, vel, start, len, c: AdamStepConsts) {
      if (use(inMem(param) && inMem(grad) && inMem(mom) && inMem(vel))) {
        ex.adamRun(
          param.byteOffset, grad.byteOffset, mom.byteOffset, vel.byteOffset, start, len, 1, 0,
          c.beta1, c.beta2, c.eps, c.stepSize, c.sqrtBc2, c.gradScale,
        );
      } else {
        adamRun(param, grad, mom, vel, start, len, c);
      }
    },
    adamRows(param, grad, mom, vel, start, len, rows, stride, c: AdamStepConsts) {
      const end = start + (rows - 1) * stride + len;
      const fits = start >= 0 && len >= 0 && rows >= 1 && stride >= len && [param, grad, mom, vel].every((a) => a.length >= end);
      if (!(fits && [param, grad, mom, vel].every(inMem))) return false;
      use(true);
      ex.adamRun(
        param.byteOffset, grad.byteOffset, mom.byteOffset, vel.byteOffset, start, len, rows, stride,
        c.beta1, c.beta2, c.eps, c.stepSize, c.sqrtBc2, c.gradScale,
      );
      return true;
    },
    reluColumns(f, rows, mk, count, sum) {
      const fits = f.length >= rows * mk && count.length >= mk && sum.length >= mk;
      if (use(fits && inMem(f) && inMem(count) && inMem(sum))) ex.reluColumns(f.byteOffset, rows, mk, count.byteOffset, sum.byteOffset);
      else reluColumns(f, rows, mk, count, sum);
    },
    columnSums(f, rows, mk, out) {
      if (use(f.length >= rows * mk && out.length >= mk && inMem(f) && inMem(out))) ex.columnSums(f.byteOffset, rows, mk, out.byteOffset);
      else columnSums(f, rows, mk, out);
    },
    product(p: ProductArgs) {
      const { M, N, K, a, b, c, bias } = p;
      const kcMax = p.kcMax ?? 0;
      const arrays = [a, b, c, p.packA, p.packB, ...(bias ? [bias] : [])];
      if (!arrays.every(inMem)) return false;
      const need = productPackFloats(K, N, kcMax);
      // Every element the product reads or writes lies inside its array.
      const last = (rs: number, cs: number, rows: number, cols: number) => (rows - 1) * rs + (cols - 1) * cs;
      const fits =
        M > 0 && N > 0 && K > 0 && p.packA.length >= need.packA && p.packB.length >= need.packB &&
        last(p.ars, p.acs, M, K) < a.length && last(p.brs, p.bcs, K, N) < b.length && last(p.ldc, 1, M, N) < c.length &&
        (!bias || bias.length >= N) && (!p.mask || kcMax >= K);
      if (!fits) return false;
      use(true);
      ex.gemm(
        M, N, K, a.byteOffset, p.ars, p.acs, b.byteOffset, p.brs, p.bcs, bias ? 1 : 0, bias ? bias.byteOffset : 0, c.byteOffset,
        p.ldc, kcMax, p.mask ? 1 : 0, p.packA.byteOffset, p.packB.byteOffset,
      );
      return true;
    },
    centre(r0, r1, d, x, b_dec, xc, xSum) {
      const fits = r0 >= 0 && r1 >= r0 && x.length >= r1 * d && xc.length >= r1 * d && b_dec.length >= d && xSum.length >= d;
      if (!(fits && [x, b_dec, xc, xSum].every(inMem))) return false;
      use(true);
      ex.centreRows(r0, r1, d, x.byteOffset, b_dec.byteOffset, xc.byteOffset, xSum.byteOffset);
      return true;
    },
    residual(r0, r1, rows, d, partials, b_dec, x, mean, G, gSum, at: RowScratch) {
      const n = r1 * d;
      const fits =
        partials.length > 0 && r0 >= 0 && r1 >= r0 && rows > 0 && at.table.length >= partials.length && at.out.length >= 2 &&
        x.length >= n && G.length >= n && b_dec.length >= d && mean.length >= d && gSum.length >= d && partials.every((p) => p.length >= n);
      if (!(fits && [b_dec, x, mean, G, gSum, at.table, at.out, ...partials].every(inMem))) return null;
      use(true);
      partials.forEach((p, k) => (at.table[k] = p.byteOffset));
      ex.residualRows(
        r0, r1, rows, d, at.table.byteOffset, partials.length, b_dec.byteOffset, x.byteOffset, mean.byteOffset, G.byteOffset,
        gSum.byteOffset, at.out.byteOffset,
      );
      return { sse: at.out[0]!, totalVariance: at.out[1]! };
    },
    screenedProduct(p: ScreenArgs) {
      const { M, N, K, a, b, c, bias, packB, qPack, qStats, rows } = p;
      if (![a, b, c, bias, packB, qPack, qStats].every(inMem) || (rows && !inMem(rows))) return -1;
      const fits =
        M > 0 && N > 0 && K > 0 && p.lda >= K && p.ldb >= N && p.ldc >= N && bias.length >= N &&
        (M - 1) * p.lda + K <= a.length && (K - 1) * p.ldb + N <= b.length && (M - 1) * p.ldc + N <= c.length &&
        packB.length >= K * 8 * Math.ceil(N / 8) && qPack.byteLength >= ex.screenPackBytes(K, N) && qStats.byteLength >= ex.screenStatsBytes(N) &&
        (!rows || rows.byteLength >= ex.screenRowsBytes(M, K));
      if (!fits) return -1;
      use(true);
      if (rows) {
        return ex.screenRowsProduct(
          M, N, K, b.byteOffset, p.ldb, bias.byteOffset, c.byteOffset, p.ldc, packB.byteOffset, qPack.byteOffset, qStats.byteOffset, rows.byteOffset,
        );
      }
      return ex.screen(
        M, N, K, a.byteOffset, p.lda, b.byteOffset, p.ldb, bias.byteOffset, c.byteOffset, p.ldc, packB.byteOffset, qPack.byteOffset,
        qStats.byteOffset,
      );
    },
    screenRows(M, r0, r1, K, a, lda, rows) {
      const fits =
        M > 0 && K > 0 && lda >= K && r0 >= 0 && r0 % 4 === 0 && r1 <= M && (r1 % 4 === 0 || r1 === M) &&
        (r1 <= r0 || (r1 - 1) * lda + K <= a.length) && rows.byteLength >= ex.screenRowsBytes(M, K);
      if (!(fits && inMem(a) && inMem(rows))) return false;
      use(true);
      ex.screenRows(M, r0, r1, K, a.byteOffset, lda, rows.byteOffset);
      return true;
    },
  };
  return { kernels, reason: '', calls };
}

/** loadSimdLoopsResult without the reason: the SIMD kernels, or null (use jsLoops). */
export function loadSimdLoops(memory: WebAssembly.Memory): LoopKernels | null {
  return loadSimdLoopsResult(memory).kernels;
}
