/**
 * JumpReLU's part of the sparse step (the host formulation of sae/jumprelu.ts, whose file comment
 * has the formulas), over a range of features [i0, i1) like loops.ts: the one-thread sparse step
 * runs it over [0, m), each worker over its slice.
 *
 * The active entries are pre > theta_i, so the decoder, dL/dpre and the weight gradients are the
 * sparse step's loops as for any activation (with no L1 term: spars = 0). What JumpReLU adds:
 *  - the entries inside the rectangle kernel's window, |pre - theta_i| < epsilon/2, recorded by the
 *    scan (KernelWindow); the thresholds' straight-through gradient is a sum over them only;
 *  - 'tanh': the penalty's dL/df at every active entry (added to gPre) and its decoder-norm term
 *    (the `decay` factor of weightGradsRange).
 * Float32 comparisons as the reference makes them (gap = pre - theta rounded to float32, against
 * float32 epsilon/2), so both formulations agree on which entries are active and in the window.
 */
import type { JumpReluStep } from '../../sae/jumprelu.js';
import { transposeActive, type ActiveRows, type LoopKernels } from './loops.js';

/** The entries of one step within epsilon/2 of their feature's threshold, grown on demand. */
export class KernelWindow {
  n = 0;
  /** [n] the entry's row */
  row = new Int32Array(0);
  /** [n] its global feature index */
  col = new Int32Array(0);
  /** [n] f at the entry: pre if active (pre > theta), else 0 */
  f = new Float32Array(0);

  clear(): void {
    this.n = 0;
  }

  push(b: number, i: number, f: number): void {
    if (this.n === this.row.length) {
      const cap = Math.max(1024, this.n * 2);
      const grow = <T extends Int32Array | Float32Array>(a: T, C: new (n: number) => T): T => {
        const out = new C(cap);
        out.set(a);
        return out;
      };
      this.row = grow(this.row, Int32Array);
      this.col = grow(this.col, Int32Array);
      this.f = grow(this.f, Float32Array);
    }
    this.row[this.n] = b;
    this.col[this.n] = i;
    this.f[this.n] = f;
    this.n++;
  }
}

/** Per-step host scratch of the JumpReLU loops: the kernel window and per-feature sums (indexed by global feature). */
export class JumpReluScratch {
  readonly window = new KernelWindow();
  dSum = new Float64Array(0);
  count = new Float64Array(0);
  sech = new Float64Array(0);

  /** Room for features [0, m). */
  ensure(m: number): void {
    if (this.dSum.length >= m) return;
    this.dSum = new Float64Array(m);
    this.count = new Float64Array(m);
    this.sech = new Float64Array(m);
  }
}

/** The arrays jumpReluGradients reads and writes (canonical layouts, as loops.ts). */
export interface JumpReluBuffers {
  /** The active entries (scanJumpRelu) */
  entries: ActiveRows;
  /** [>= nnz] dL/dpre at each entry (written) */
  gPre: Float32Array;
  cscPtr: Int32Array;
  cscNext: Int32Array;
  cscRow: Int32Array;
  cscEntry: Int32Array;
  accE: Float32Array;
  accD: Float32Array;
  /** [m] ||W_dec_i|| ('tanh'; written) */
  decNorm: Float64Array;
  /** [B, d] x - b_dec */
  xc: Float32Array;
  /** [B, d] dL/dx_hat */
  G: Float32Array;
  W_dec: Float32Array;
  /** [m] rows each feature fired in (scanJumpRelu) */
  fired: Float32Array;
  /** [m] exp(log_threshold) (thresholdsOf) */
  theta: Float32Array;
  /** [m] scratch of the loops: zeroed over the range (no L1 term), decay the 'tanh' decoder factor */
  spars: Float32Array;
  decay: Float32Array;
  /** written over the range: [d, m], [m, d], [m], [m] */
  gW_enc: Float32Array;
  gW_dec: Float32Array;
  gb_enc: Float32Array;
  gLog: Float32Array;
}

/**
 * The gradients of features [i0, i1) for a JumpReLU step of `rows` rows with batch L0 `l0`, given
 * G (after the residual) and the scan's entries and window: dL/dpre at the active entries (with
 * no L1 term; plus the 'tanh' terms), gb_enc, the weight gradients (loops), and
 * dL/dlog_threshold. Returns the range's summed tanh terms (0 for the other penalties).
 */
export function jumpReluGradients(
  i0: number,
  i1: number,
  rows: number,
  d: number,
  m: number,
  l0: number,
  j: JumpReluStep,
  b: JumpReluBuffers,
  loops: LoopKernels,
  scratch: JumpReluScratch,
): number {
  scratch.ensure(i1);
  b.spars.fill(0, i0, i1);
  b.decay.fill(0, i0, i1);
  b.gb_enc.fill(0, i0, i1);
  const tanh = j.penalty === 'tanh';
  if (tanh) decoderNorms(i0, i1, d, b.W_dec, b.decNorm);
  const e = b.entries;
  loops.gradPre(rows, d, e.rowPtr, e.col, b.G, b.W_dec, b.spars, b.gPre, b.gb_enc);
  const tanhSum = tanh ? tanhActiveTerms(i0, i1, rows, e, b.decNorm, j, b.gPre, b.gb_enc, b.decay, scratch.sech) : 0;
  transposeActive(rows, i0, i1, e, b.fired, b.cscPtr, b.cscNext, b.cscRow, b.cscEntry);
  loops.weightGrads(i0, i1, d, m, b.cscPtr, b.cscRow, b.cscEntry, b.gPre, e.val, b.xc, b.G, b.W_dec, b.decay, b.gW_enc, b.gW_dec, b.accE, b.accD);
  thresholdGradients(i0, i1, d, rows, l0, scratch.window, b.G, b.W_dec, b.theta, b.decNorm, j, b.gLog, scratch.dSum, scratch.count);
  return tanhSum;
}

/** theta[i] = exp(logThreshold[i]) in float32, for i in [i0, i1). */
export function thresholdsOf(logThreshold: Float32Array, i0: number, i1: number, theta: Float32Array): void {
  for (let i = i0; i < i1; i++) theta[i] = Math.exp(logThreshold[i]!);
}

/**
 * scanActive (loops.ts) with a threshold per feature: the active entries of a [B, mk] block of
 * pre-activations (column c is feature i0 + c) are pre > theta[i0 + c]; writes rowPtr, col, val,
 * fired and fSum as scanActive, and the block's kernel-window entries into `window` (cleared
 * first). Returns nnz, or -1 if more than capacity entries are active.
 */
export function scanJumpRelu(
  pre: Float32Array,
  B: number,
  mk: number,
  i0: number,
  theta: Float32Array,
  halfBandwidth: number,
  out: ActiveRows,
  fired: Float32Array,
  fSum: Float64Array,
  capacity: number,
  window: KernelWindow,
): number {
  const { rowPtr, col, val } = out;
  const half = Math.fround(halfBandwidth);
  for (let c = 0; c < mk; c++) {
    fired[i0 + c] = 0;
    fSum[i0 + c] = 0;
  }
  window.clear();
  let nnz = 0;
  rowPtr[0] = 0;
  for (let b = 0; b < B; b++) {
    const base = b * mk;
    for (let c = 0; c < mk; c++) {
      const v = pre[base + c]!;
      const t = theta[i0 + c]!;
      const active = v > t;
      if (active) {
        if (nnz >= capacity) return -1;
        col[nnz] = i0 + c;
        val[nnz] = v;
        nnz++;
        fired[i0 + c]! += 1;
        fSum[i0 + c]! += v;
      }
      if (Math.abs(Math.fround(v - t)) < half) window.push(b, i0 + c, active ? v : 0);
    }
    rowPtr[b + 1] = nnz;
  }
  return nnz;
}

/**
 * The kernel-window entries of a [B, mk] block of pre-activations (column c is feature i0 + c)
 * into `window` (cleared first), as scanJumpRelu records them: for the dense formulation, which
 * needs no list of the active entries.
 */
export function scanKernelWindow(pre: Float32Array, B: number, mk: number, i0: number, theta: Float32Array, halfBandwidth: number, window: KernelWindow): void {
  const half = Math.fround(halfBandwidth);
  window.clear();
  for (let b = 0; b < B; b++) {
    const base = b * mk;
    for (let c = 0; c < mk; c++) {
      const v = pre[base + c]!;
      const t = theta[i0 + c]!;
      if (Math.abs(Math.fround(v - t)) < half) window.push(b, i0 + c, v > t ? v : 0);
    }
  }
}

/** decNorm[i] = ||W_dec[i]|| for i in [i0, i1) (the 'tanh' penalty's scale). */
export function decoderNorms(i0: number, i1: number, d: number, W_dec: Float32Array, decNorm: Float64Array): void {
  for (let i = i0; i < i1; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += W_dec[i * d + j]! ** 2;
    decNorm[i] = Math.fround(Math.sqrt(s));
  }
}

/**
 * 'tanh' at the active entries of features [i0, i1) (rows [0, B) of the step's `rows`), after
 * gradPreActive with spars = 0: with t = tanh(c f ||W_dec_i||),
 *   gPre += lambda c ||W_dec_i|| (1 - t^2) / rows   (and gb_enc[i] with it),
 *   decay_i = (lambda c / rows) sum_b f (1 - t^2) / max(||W_dec_i||, 1e-12)   (weightGradsRange's decoder term).
 * Returns sum of t over the entries (the penalty's batch sum).
 */
export function tanhActiveTerms(
  i0: number,
  i1: number,
  B: number,
  rows: ActiveRows,
  decNorm: Float64Array,
  j: JumpReluStep,
  gPre: Float32Array,
  gb_enc: Float32Array,
  decay: Float32Array,
  sech: Float64Array,
): number {
  const c = j.tanhScale!;
  const scale = (j.coefficient * c) / B;
  for (let i = i0; i < i1; i++) sech[i] = 0;
  let sum = 0;
  for (let k = 0; k < rows.rowPtr[B]!; k++) {
    const i = rows.col[k]!;
    const f = rows.val[k]!;
    const t = Math.tanh(c * f * decNorm[i]!);
    const s2 = 1 - t * t;
    sum += t;
    const extra = scale * decNorm[i]! * s2;
    gPre[k]! += extra;
    gb_enc[i]! += extra;
    sech[i]! += f * s2;
  }
  for (let i = i0; i < i1; i++) decay[i] = (scale * sech[i]!) / Math.max(decNorm[i]!, 1e-12);
  return sum;
}

/**
 * dL/dlog_threshold for features [i0, i1) into gLog, from the kernel-window entries (the batch
 * has `B` rows, L0 `l0`; G [B, d] = dL/dx_hat after the residual):
 *   dL/df_bi = <G_b, W_dec_i> (+ 'tanh': lambda c ||W_dec_i|| (1 - t^2) / B),
 *   dL/dtheta_i = -(theta_i / eps) sum_window dL/df_bi + the L0 part: 'step' -lambda n_i / (eps B),
 *     'target-l0' -2 lambda (L0 / T - 1) n_i / (T eps B)   (n_i: the feature's window entries),
 *   dL/dlog_threshold_i = theta_i dL/dtheta_i.
 * dSum and count are scratch of length >= i1.
 */
export function thresholdGradients(
  i0: number,
  i1: number,
  d: number,
  B: number,
  l0: number,
  window: KernelWindow,
  G: Float32Array,
  W_dec: Float32Array,
  theta: Float32Array,
  decNorm: Float64Array,
  j: JumpReluStep,
  gLog: Float32Array,
  dSum: Float64Array,
  count: Float64Array,
): void {
  const eps = j.bandwidth;
  const lambda = j.coefficient;
  for (let i = i0; i < i1; i++) {
    dSum[i] = 0;
    count[i] = 0;
  }
  const tanh = j.penalty === 'tanh';
  const c = j.tanhScale ?? 0;
  for (let k = 0; k < window.n; k++) {
    const i = window.col[k]!;
    const go = window.row[k]! * d;
    const wo = i * d;
    let s = 0;
    for (let q = 0; q < d; q++) s += G[go + q]! * W_dec[wo + q]!;
    if (tanh) {
      const t = Math.tanh(c * window.f[k]! * decNorm[i]!);
      s += (lambda * c * decNorm[i]! * (1 - t * t)) / B;
    }
    dSum[i]! += s;
    count[i]! += 1;
  }
  const perEntry =
    j.penalty === 'step' ? -lambda / (eps * B) : j.penalty === 'target-l0' ? (-2 * lambda * (l0 / j.targetL0! - 1)) / (j.targetL0! * eps * B) : 0;
  for (let i = i0; i < i1; i++) {
    const th = theta[i]!;
    gLog[i] = th * ((-th / eps) * dSum[i]! + perEntry * count[i]!);
  }
}

/** The batch's sparsity term S (sae/jumprelu.ts) from its L0 and, for 'tanh', the summed tanh terms over `B` rows. */
export function jumpReluSparsity(j: JumpReluStep, l0: number, tanhSum: number, B: number): number {
  if (j.penalty === 'step') return l0;
  if (j.penalty === 'target-l0') return (l0 / j.targetL0! - 1) ** 2;
  return tanhSum / B;
}
