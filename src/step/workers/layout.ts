import { Arena } from '../kernels/arena.js';
import { productPackFloats, screenRowsFloats, screenScratch } from '../kernels/loops.js';

/** Active entries each worker's sparse buffers hold, as a fraction of batch x its slice's width. */
export const DEFAULT_SPARSE_CAPACITY = 0.25;

/** Where one array lives in the shared memory (byte offset, element count, element type). */
export interface ArraySpec {
  offset: number;
  length: number;
  type: 'f32' | 'i32' | 'f64';
}

/** One worker's feature range and its private buffers (still in shared memory, for the SIMD loops). */
export interface SliceSpec {
  i0: number;
  i1: number;
  /** Active entries the slice's buffers hold. */
  capacity: number;
  arrays: Record<SliceArray, ArraySpec>;
}

/** The shared arrays: the SAE's host state in the canonical layout, step buffers and reductions. */
export const STATE_ARRAYS = [
  'W_enc', 'b_enc', 'W_dec', 'b_dec',
  'mW_enc', 'mb_enc', 'mW_dec', 'mb_dec',
  'vW_enc', 'vb_enc', 'vW_dec', 'vb_dec',
  // b_dec's gradient is each worker's own (slice-step.ts).
  'gW_enc', 'gb_enc', 'gW_dec',
  'x', 'xc', 'G', 'fired', 'spars', 'decay',
  // The step's rows in the shuffle buffer's pool, when the workers copy them (row-reduce.ts loadRows).
  'rowIndex',
  // xc's rows quantized and packed for the screened encoder product, once for all slices (slice-compute.ts prepareScreen).
  'screenRows',
  // jumprelu (slice-jumprelu.ts): the thresholds' parameter, moments, gradient, and exp of it this step.
  'log_threshold', 'mlog_threshold', 'vlog_threshold', 'glog_threshold', 'theta',
] as const;
export type StateArray = (typeof STATE_ARRAYS)[number];

export const SLICE_ARRAYS = ['partial', 'rowPtr', 'col', 'val', 'gPre', 'cscPtr', 'cscNext', 'cscRow', 'cscEntry', 'accE', 'accD', 'bdecPart', 'fSum', 'decNorm', 'xSum', 'gSum', 'pre', 'wPack', 'aPack', 'gT', 'qPack', 'qStats', 'colStat', 'partialAt', 'rowSums', 'mean'] as const;
export type SliceArray = (typeof SLICE_ARRAYS)[number];

export interface SharedLayout {
  B: number;
  d: number;
  m: number;
  arrays: Record<StateArray, ArraySpec>;
  slices: SliceSpec[];
}

/** Typed views of the arrays of one record. */
export function viewsOf(memory: WebAssembly.Memory, specs: Record<string, ArraySpec>): Record<string, Float32Array | Int32Array | Float64Array> {
  const out: Record<string, Float32Array | Int32Array | Float64Array> = {};
  for (const [name, s] of Object.entries(specs)) {
    const C = s.type === 'f32' ? Float32Array : s.type === 'i32' ? Int32Array : Float64Array;
    out[name] = new C(memory.buffer as ArrayBuffer, s.offset, s.length);
  }
  return out;
}

/** The state arrays' views, typed. */
export interface StateViews {
  W_enc: Float32Array; b_enc: Float32Array; W_dec: Float32Array; b_dec: Float32Array;
  mW_enc: Float32Array; mb_enc: Float32Array; mW_dec: Float32Array; mb_dec: Float32Array;
  vW_enc: Float32Array; vb_enc: Float32Array; vW_dec: Float32Array; vb_dec: Float32Array;
  gW_enc: Float32Array; gb_enc: Float32Array; gW_dec: Float32Array;
  x: Float32Array; xc: Float32Array; G: Float32Array; fired: Float32Array; spars: Float32Array; decay: Float32Array;
  rowIndex: Int32Array;
  /** xc's rows for the screened encoder product (loops.ts screenRowsFloats(B, d) floats; slice-compute.ts prepareScreen). */
  screenRows: Float32Array;
  /** jumprelu's log_threshold [m], its Adam moments and gradient; theta = exp(log_threshold) of the current step. */
  log_threshold: Float32Array; mlog_threshold: Float32Array; vlog_threshold: Float32Array; glog_threshold: Float32Array; theta: Float32Array;
}

export interface SliceViews {
  partial: Float32Array;
  rowPtr: Int32Array;
  col: Int32Array;
  val: Float32Array;
  gPre: Float32Array;
  cscPtr: Int32Array;
  cscNext: Int32Array;
  cscRow: Int32Array;
  cscEntry: Int32Array;
  accE: Float32Array;
  accD: Float32Array;
  bdecPart: Float32Array;
  fSum: Float64Array;
  decNorm: Float64Array;
  /** Column sums of x and of G over the worker's row range (row-reduce.ts). */
  xSum: Float64Array;
  gSum: Float64Array;
  /**
   * The slice's pre-activations [B, mk] (the sparse step's; the dense step's f, then its gradient),
   * and the products' packed operands (wasm/gemm.ts): wPack the right one, aPack the left one.
   */
  pre: Float32Array;
  wPack: Float32Array;
  aPack: Float32Array;
  /** The dense step's gW_enc of the slice, transposed [mk, d], before it goes into gW_enc's columns. */
  gT: Float32Array;
  /** The screened encoder product's quantized operands and bounds (wasm/screen.ts; screenScratch). */
  qPack: Float32Array;
  qStats: Float64Array;
  /** The dense step's per-column counts and sums [2, mk] (slice-dense-host.ts). */
  colStat: Float32Array;
  /** The SIMD residual's room (LoopKernels.residual): every slice's partial's byte offset, and its two sums. */
  partialAt: Int32Array;
  rowSums: Float64Array;
  /** The batch's column means, the worker's own copy (slice-step.ts). */
  mean: Float64Array;
}

/** What a worker's slice reads and writes: the state, its own arrays, its features [i0, i1), and every slice's partial reconstruction in worker order. */
export interface SliceContext {
  s: StateViews;
  v: SliceViews;
  i0: number;
  i1: number;
  capacity: number;
  partials: Float32Array[];
}

/** The views of slice `slice` of the layout in `memory`. */
export function sliceContext(memory: WebAssembly.Memory, layout: SharedLayout, slice: number): SliceContext {
  const spec = layout.slices[slice]!;
  return {
    s: viewsOf(memory, layout.arrays) as unknown as StateViews,
    v: viewsOf(memory, spec.arrays) as unknown as SliceViews,
    i0: spec.i0,
    i1: spec.i1,
    capacity: spec.capacity,
    partials: layout.slices.map((sl) => viewsOf(memory, sl.arrays).partial as Float32Array),
  };
}

/**
 * Scratch floats a slice's products need (slice-dense-host.ts): the encoder product (d x mk), the
 * decode (k = mk, N = d), the masked dF (k = d in one block, N = mk), the weight gradients (k = B).
 */
export function slicePackFloats(B: number, d: number, mk: number): { packA: number; packB: number } {
  const uses = [productPackFloats(d, mk), productPackFloats(mk, d), productPackFloats(d, mk, d), productPackFloats(B, d)];
  return { packA: Math.max(...uses.map((u) => u.packA)), packB: Math.max(...uses.map((u) => u.packB)) };
}

/**
 * Feature ranges for k workers: contiguous, sizes differing by at most one, in order.
 * Capacity: active entries each slice can hold, as a fraction of B x slice width (the step
 * falls back to one thread for a batch that exceeds it).
 */
export function planLayout(B: number, d: number, m: number, workers: number, capacityFraction: number): { layout: SharedLayout; arena: Arena } {
  const { state, ranges, sliceSizes } = sizes(B, d, m, workers, capacityFraction);
  const arena = new Arena(layoutBytes(B, d, m, workers, capacityFraction));
  const alloc = (n: number, type: ArraySpec['type']): ArraySpec => {
    const a = type === 'f32' ? arena.f32(n) : type === 'i32' ? arena.i32(n) : arena.f64(n);
    return { offset: a.byteOffset, length: n, type };
  };
  const arrays = Object.fromEntries(Object.entries(state).map(([k, [n, t]]) => [k, alloc(n, t)])) as Record<StateArray, ArraySpec>;
  const slices = ranges.map(([i0, i1], k) => ({
    i0,
    i1,
    capacity: sliceSizes[k]!.capacity,
    arrays: Object.fromEntries(Object.entries(sliceSizes[k]!.s).map(([n, [len, t]]) => [n, alloc(len, t)])) as Record<SliceArray, ArraySpec>,
  }));
  return { layout: { B, d, m, arrays, slices }, arena };
}

/** Bytes of the shared memory planLayout allocates (for memory bounds). */
export function layoutBytes(B: number, d: number, m: number, workers: number, capacityFraction: number): number {
  const { state, sliceSizes } = sizes(B, d, m, workers, capacityFraction);
  const all = [...Object.values(state), ...sliceSizes.flatMap(({ s }) => Object.values(s))];
  return Arena.bytesFor(all.map(([n, t]) => n * (t === 'f64' ? 8 : 4)));
}

function sizes(B: number, d: number, m: number, workers: number, capacityFraction: number) {
  const state: Record<StateArray, [number, ArraySpec['type']]> = {
    W_enc: [d * m, 'f32'], b_enc: [m, 'f32'], W_dec: [m * d, 'f32'], b_dec: [d, 'f32'],
    mW_enc: [d * m, 'f32'], mb_enc: [m, 'f32'], mW_dec: [m * d, 'f32'], mb_dec: [d, 'f32'],
    vW_enc: [d * m, 'f32'], vb_enc: [m, 'f32'], vW_dec: [m * d, 'f32'], vb_dec: [d, 'f32'],
    gW_enc: [d * m, 'f32'], gb_enc: [m, 'f32'], gW_dec: [m * d, 'f32'],
    x: [B * d, 'f32'], xc: [B * d, 'f32'], G: [B * d, 'f32'], fired: [m, 'f32'], spars: [m, 'f32'], decay: [m, 'f32'],
    rowIndex: [B, 'i32'],
    screenRows: [screenRowsFloats(B, d), 'f32'],
    log_threshold: [m, 'f32'], mlog_threshold: [m, 'f32'], vlog_threshold: [m, 'f32'], glog_threshold: [m, 'f32'], theta: [m, 'f32'],
  };
  const ranges = Array.from({ length: workers }, (_, k) => [Math.floor((k * m) / workers), Math.floor(((k + 1) * m) / workers)] as const);
  const sliceSizes = ranges.map(([i0, i1]) => {
    const mk = i1 - i0;
    const capacity = Math.max(64, Math.ceil(B * mk * capacityFraction));
    const pack = slicePackFloats(B, d, mk);
    const screen = screenScratch(d, mk);
    const s: Record<SliceArray, [number, ArraySpec['type']]> = {
      partial: [B * d, 'f32'], rowPtr: [B + 1, 'i32'], col: [capacity, 'i32'], val: [capacity, 'f32'], gPre: [capacity, 'f32'],
      cscPtr: [mk + 1, 'i32'], cscNext: [mk, 'i32'], cscRow: [capacity, 'i32'], cscEntry: [capacity, 'i32'],
      accE: [d, 'f32'], accD: [d, 'f32'], bdecPart: [d, 'f32'], fSum: [m, 'f64'], decNorm: [m, 'f64'],
      xSum: [d, 'f64'], gSum: [d, 'f64'], pre: [B * mk, 'f32'], wPack: [pack.packB, 'f32'], aPack: [pack.packA, 'f32'], gT: [mk * d, 'f32'],
      qPack: [screen.qPack, 'f32'], qStats: [screen.qStats, 'f64'], colStat: [2 * mk, 'f32'],
      partialAt: [workers, 'i32'], rowSums: [2, 'f64'], mean: [d, 'f64'],
    };
    return { capacity, s };
  });
  return { state, ranges, sliceSizes };
}
