import type { SparsityPenalty } from '../sae/gradients.js';
import { jsLoops, scanActive, transposeActive, type ActiveRows } from './kernels/loops.js';
import { jumpReluGradients, jumpReluSparsity, JumpReluScratch, scanJumpRelu, thresholdsOf } from './kernels/jumprelu-loops.js';
import type { JumpReluStep } from '../sae/jumprelu.js';
import type { PhaseTimer } from '../util/phase-timer.js';

/** Host arrays of one step's inputs (row-major float32). */
export interface SparseInputs {
  B: number;
  d: number;
  m: number;
  /** x [B, d] */
  x: Float32Array;
  /** pre-activations [B, m] from the dense encoder product, or f = relu(pre): only entries > 0 are read */
  f: Float32Array;
  /** W_enc [d, m] */
  W_enc: Float32Array;
  /** W_dec [m, d] */
  W_dec: Float32Array;
  /** b_dec [d] */
  b_dec: Float32Array;
  l1Coefficient: number;
  penalty: SparsityPenalty;
  /** [B] TopK / BatchTopK: an entry of row b is active iff f > rowThreshold[b] (absent: f > 0). */
  rowThreshold?: Float32Array;
  /**
   * JumpReLU: an entry is active iff f > exp(logThreshold[i]) [m], and the step's config
   * (kernels/jumprelu-loops.ts); the L1 term is replaced by its penalty.
   */
  jumprelu?: { step: JumpReluStep; logThreshold: Float32Array };
}

/** Gradients (canonical layout) and statistics; the arrays are the workspace's, valid until its next use. */
export interface SparseResult {
  /** [d, m] */
  W_enc: Float32Array;
  /** [m] */
  b_enc: Float32Array;
  /** [m, d] */
  W_dec: Float32Array;
  /** [d] */
  b_dec: Float32Array;
  /** [m] rows in which each feature fired */
  firedCounts: Float32Array;
  /** [m] jumprelu only */
  log_threshold?: Float32Array;
  loss: number;
  mse: number;
  l1: number;
  l0: number;
  sse: number;
  totalVariance: number;
}

/**
 * Reusable host buffers for sparseBackward, grown on demand so that steady-state steps allocate
 * nothing. One workspace per kernel; not shared between threads.
 */
export class SparseWorkspace {
  private shapeKey = '';
  private capacity = 0;
  rows: ActiveRows = { rowPtr: new Int32Array(0), col: new Int32Array(0), val: new Float32Array(0) };
  gPre = new Float32Array(0);
  cscPtr = new Int32Array(0);
  cscNext = new Int32Array(0);
  cscRow = new Int32Array(0);
  cscEntry = new Int32Array(0);
  xc = new Float32Array(0);
  G = new Float32Array(0);
  gW_enc = new Float32Array(0);
  gW_dec = new Float32Array(0);
  gb_enc = new Float32Array(0);
  gb_dec = new Float32Array(0);
  fired = new Float32Array(0);
  fSum = new Float64Array(0);
  spars = new Float32Array(0);
  decay = new Float32Array(0);
  decNorm = new Float64Array(0);
  accE = new Float32Array(0);
  accD = new Float32Array(0);
  /** jumprelu: exp(log_threshold), its gradient, the loops' scratch. */
  theta = new Float32Array(0);
  gLog = new Float32Array(0);
  readonly jumprelu = new JumpReluScratch();

  ensureShape(B: number, d: number, m: number): void {
    const key = `${B}x${d}x${m}`;
    if (key === this.shapeKey) return;
    this.shapeKey = key;
    this.rows.rowPtr = new Int32Array(B + 1);
    this.cscPtr = new Int32Array(m + 1);
    this.cscNext = new Int32Array(m);
    this.xc = new Float32Array(B * d);
    this.G = new Float32Array(B * d);
    this.gW_enc = new Float32Array(d * m);
    this.gW_dec = new Float32Array(m * d);
    this.gb_enc = new Float32Array(m);
    this.gb_dec = new Float32Array(d);
    this.fired = new Float32Array(m);
    this.fSum = new Float64Array(m);
    this.spars = new Float32Array(m);
    this.decay = new Float32Array(m);
    this.decNorm = new Float64Array(m);
    this.accE = new Float32Array(d);
    this.accD = new Float32Array(d);
    this.theta = new Float32Array(m);
    this.gLog = new Float32Array(m);
  }

  /** Active entries the buffers hold. */
  get entryCapacity(): number {
    return this.capacity;
  }

  /** Make room for at least n active entries. */
  ensureEntries(n: number): void {
    if (n <= this.capacity) return;
    const cap = Math.max(n, 1024);
    this.rows.col = new Int32Array(cap);
    this.rows.val = new Float32Array(cap);
    this.gPre = new Float32Array(cap);
    this.cscRow = new Int32Array(cap);
    this.cscEntry = new Int32Array(cap);
    this.capacity = cap;
  }
}

/**
 * Loss, exact gradients and statistics of one batch given the encoder's output f, with every
 * product after the encoder restricted to the active entries of f (f > 0). Same quantities as
 * lossAndGradients (see gradients.ts for the formulas) in ~8 L0 d flops per row instead of 8 m d.
 * Rows of the decoder-side work are visited row-major (x_hat, dL/dpre); the weight gradients
 * feature-major through a transposed index, so each gradient row is accumulated in registers.
 * The loops are loops.ts' over the feature range [0, m) (the worker kernel splits the range).
 */
export function sparseBackward(ws: SparseWorkspace, inp: SparseInputs, timer?: PhaseTimer): SparseResult {
  const loops = jsLoops; // its arrays are not in the SIMD loops' memory (the workers' are)
  const { B, d, m, x, f, W_enc, W_dec, b_dec, l1Coefficient } = inp;
  ws.ensureShape(B, d, m);
  const { xc, G, gW_enc, gW_dec, gb_enc, gb_dec, fired, fSum, spars, decay, decNorm } = ws;

  const totalVariance = centre(B, d, x, b_dec, xc);

  // Active entries, row-major (CSR), with per-feature counts and sums; counted first only when
  // they do not fit the buffers of the last step (then the buffers grow and the scan runs again).
  const thr = inp.rowThreshold;
  const jr = inp.jumprelu;
  if (jr) thresholdsOf(jr.logThreshold, 0, m, ws.theta);
  const scan = () =>
    jr
      ? scanJumpRelu(f, B, m, 0, ws.theta, jr.step.bandwidth / 2, ws.rows, fired, fSum, ws.entryCapacity, ws.jumprelu.window)
      : scanActive(f, B, m, 0, ws.rows, fired, fSum, ws.entryCapacity, thr);
  let nnz = scan();
  if (nnz < 0) {
    let count = 0;
    for (let b = 0; b < B; b++) {
      const t = thr ? thr[b]! : 0;
      for (let q = b * m, i = 0; i < m; q++, i++) if (f[q]! > (jr ? ws.theta[i]! : t)) count++;
    }
    ws.ensureEntries(Math.ceil(count * 1.25));
    nnz = scan();
  }
  const { rowPtr, col, val } = ws.rows;
  timer?.lap('encode');

  // jumprelu: no L1 term (its penalty's gradients come with jumpReluGradients below).
  const l1Sum = jr ? 0 : sparsityTerms(0, m, d, W_dec, fSum, l1Coefficient, B, inp.penalty, decNorm, spars, decay);
  gb_enc.fill(0);

  // Decoder over active features, residual, dL/dx_hat = (2/B) e; then dL/dpre at active entries.
  loops.decode(B, d, rowPtr, col, val, W_dec, G);
  const sse = residual(B, d, [G], b_dec, x, G);
  timer?.lap('decode');
  let sparsity = l1Sum / B;
  let coefficient = l1Coefficient;
  if (jr) {
    const buffers = { ...ws, entries: ws.rows, W_dec };
    const tanhSum = jumpReluGradients(0, m, B, d, m, nnz / B, jr.step, buffers, loops, ws.jumprelu);
    sparsity = jumpReluSparsity(jr.step, nnz / B, tanhSum, B);
    coefficient = jr.step.coefficient;
  } else {
    loops.gradPre(B, d, rowPtr, col, G, W_dec, spars, ws.gPre, gb_enc);
    transposeActive(B, 0, m, ws.rows, fired, ws.cscPtr, ws.cscNext, ws.cscRow, ws.cscEntry);
    loops.weightGrads(0, m, d, m, ws.cscPtr, ws.cscRow, ws.cscEntry, ws.gPre, val, xc, G, W_dec, decay, gW_enc, gW_dec, ws.accE, ws.accD);
  }
  hostColumnSums(B, d, G, gb_dec);
  encoderTermOfBDec(0, m, d, m, W_enc, gb_enc, gb_dec, -1);

  timer?.lap('backward');
  const mse = sse / B;
  return {
    W_enc: gW_enc,
    b_enc: gb_enc,
    W_dec: gW_dec,
    b_dec: gb_dec,
    firedCounts: fired,
    ...(jr ? { log_threshold: ws.gLog } : {}),
    loss: mse + coefficient * sparsity,
    mse,
    l1: sparsity,
    l0: nnz / B,
    sse,
    totalVariance,
  };
}

/** xc = x - b_dec (row-major [B, d]); returns the batch's total variance sum_b ||x_b - mean(x)||^2. */
export function centre(B: number, d: number, x: Float32Array, b_dec: Float32Array, xc: Float32Array): number {
  const mean = new Float64Array(d);
  for (let b = 0; b < B; b++) for (let j = 0; j < d; j++) mean[j]! += x[b * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= B;
  let totalVariance = 0;
  for (let b = 0; b < B; b++) {
    const xo = b * d;
    for (let j = 0; j < d; j++) {
      const v = x[xo + j]!;
      const c = v - mean[j]!;
      totalVariance += c * c;
      xc[xo + j] = v - b_dec[j]!;
    }
  }
  return totalVariance;
}

/**
 * Per-feature sparsity constants for features [i0, i1): c_i (1, or ||W_dec_i|| for the April
 * update's decoder-norm penalty) into decNorm, spars_i = l1 c_i / B (the constant of dL/df) and
 * decay_i = the decoder-norm penalty's d/dW_dec_i factor (l1/B) fSum_i / ||W_dec_i|| (0 for plain L1).
 * Returns sum_i fSum_i c_i over the range (the batch's summed sparsity penalty).
 */
export function sparsityTerms(
  i0: number,
  i1: number,
  d: number,
  W_dec: Float32Array,
  fSum: Float64Array,
  l1Coefficient: number,
  B: number,
  penalty: SparsityPenalty,
  decNorm: Float64Array,
  spars: Float32Array,
  decay: Float32Array,
): number {
  let l1Sum = 0;
  const byNorm = penalty === 'l1-decoder-norm';
  for (let i = i0; i < i1; i++) {
    let c = 1;
    if (byNorm) {
      let s = 0;
      for (let j = 0; j < d; j++) s += W_dec[i * d + j]! ** 2;
      c = Math.sqrt(s);
    }
    decNorm[i] = c;
    spars[i] = (l1Coefficient / B) * c;
    // d/dW_dec_i of (l1/B) fSum_i ||W_dec_i|| = (l1/B) fSum_i W_dec_i / ||W_dec_i||.
    decay[i] = byNorm ? ((l1Coefficient / B) * fSum[i]!) / Math.max(c, 1e-12) : 0;
    l1Sum += fSum[i]! * c;
  }
  return l1Sum;
}

/**
 * G = (2/B) (sum of the partial reconstructions + b_dec - x), the gradient of the mean squared
 * error with respect to x_hat; returns the summed squared error. Partials are added in order
 * (deterministic); G may alias the first partial.
 */
export function residual(B: number, d: number, partials: Float32Array[], b_dec: Float32Array, x: Float32Array, G: Float32Array): number {
  let sse = 0;
  const twoOverB = 2 / B;
  for (let b = 0; b < B; b++) {
    for (let j = 0, q = b * d; j < d; j++, q++) {
      let r = partials[0]![q]!;
      for (let p = 1; p < partials.length; p++) r += partials[p]![q]!;
      const e = r + b_dec[j]! - x[q]!;
      sse += e * e;
      G[q] = twoOverB * e;
    }
  }
  return sse;
}

/** out[j] = sum_b G[b, j]  (G [B, d]); the host counterpart of sae/gradients.ts columnSums. */
export function hostColumnSums(B: number, d: number, G: Float32Array, out: Float32Array): void {
  out.fill(0);
  for (let b = 0; b < B; b++) for (let j = 0; j < d; j++) out[j]! += G[b * d + j]!;
}

/**
 * out[j] += sign sum_{i in [i0, i1)} W_enc[j, i] gb_enc[i]: b_dec enters the encoder input as
 * x - b_dec, so its gradient has the term -W_enc (sum_b gPre_b) besides sum_b G_b.
 */
export function encoderTermOfBDec(
  i0: number,
  i1: number,
  d: number,
  m: number,
  W_enc: Float32Array,
  gb_enc: Float32Array,
  out: Float32Array,
  sign: number,
): void {
  for (let j = 0; j < d; j++) {
    const wo = j * m;
    let t = 0;
    for (let i = i0; i < i1; i++) t += W_enc[wo + i]! * gb_enc[i]!;
    out[j]! += sign * t;
  }
}
