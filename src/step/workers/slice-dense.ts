import * as tf from '../../backend/tfjs.js';
import { columnSums } from '../../sae/gradients.js';
import { hostView } from '../kernels/host-io.js';
import { scanKernelWindow, type KernelWindow } from '../kernels/jumprelu-loops.js';
import type { JumpReluStep } from '../../sae/jumprelu.js';
import type { SharedLayout, SliceViews, StateViews } from './layout.js';

/** Input widths from which the weight gradients use the transposed formulation (measured, see backward). */
export const TRANSPOSE_GRADS_FROM_D = 256;

/** JumpReLU's part of a dense slice's encode: the thresholds (theta [m], global index) and where the kernel window goes. */
export interface DenseJumpRelu {
  theta: Float32Array;
  halfBandwidth: number;
  window: KernelWindow;
}

/**
 * The dense formulation of a worker's share of the step (every feature of the slice, active or
 * not), for the start of a run when about half the features fire: the same products as
 * lossAndGradients (gradients.ts; jumprelu.ts for JumpReLU) restricted to the slice's columns, in
 * tfjs' plain layout. The slice's activations stay in the worker's tfjs memory between the encode
 * and backward phases.
 */
export class DenseSlice {
  private xc: tf.Tensor2D | null = null;
  private f: tf.Tensor2D | null = null;
  private active: tf.Tensor2D | null = null;
  private ones: tf.Tensor2D | null = null;

  constructor(
    private readonly layout: SharedLayout,
    private readonly s: StateViews,
    private readonly v: SliceViews,
    private readonly i0: number,
    private readonly i1: number,
  ) {}

  /**
   * f = relu(xc W_enc[:, slice] + b_enc[slice]), the partial reconstruction f W_dec[slice] into
   * the slice's `partial`, fired counts and fSum of its features. wSlice: W_enc's columns [d, mk].
   * Returns the slice's active entries. `jumprelu`: f = pre where pre > theta instead, and the
   * kernel-window entries recorded (slice-jumprelu.ts computes the thresholds' gradient from them).
   */
  encode(rows: number, wSlice: Float32Array, jumprelu?: DenseJumpRelu): number {
    this.release();
    const { d } = this.layout;
    const { i0, i1, s, v } = this;
    const mk = i1 - i0;
    const xc = tf.tensor2d(s.xc.subarray(0, rows * d), [rows, d]);
    const ones = tf.ones([1, rows]) as tf.Tensor2D;
    let f: tf.Tensor2D;
    let active: tf.Tensor2D;
    if (jumprelu) {
      const pre = tf.tidy(() => tf.fused.matMul({ a: xc, b: tf.tensor2d(wSlice, [d, mk]), bias: tf.tensor1d(s.b_enc.subarray(i0, i1)) })) as tf.Tensor2D;
      // The host view is read before the next tfjs allocation (hostView).
      scanKernelWindow(hostView(pre), rows, mk, i0, jumprelu.theta, jumprelu.halfBandwidth, jumprelu.window);
      // step(pre - theta): active iff pre > theta, as the reference (sae/jumprelu.ts).
      active = tf.tidy(() => tf.step(tf.sub(pre, tf.tensor1d(jumprelu.theta.subarray(i0, i1))))) as tf.Tensor2D;
      f = tf.mul(pre, active) as tf.Tensor2D;
      pre.dispose();
    } else {
      f = tf.tidy(() => tf.relu(tf.fused.matMul({ a: xc, b: tf.tensor2d(wSlice, [d, mk]), bias: tf.tensor1d(s.b_enc.subarray(i0, i1)) }))) as tf.Tensor2D;
      active = tf.step(f) as tf.Tensor2D;
    }
    this.xc = xc;
    this.ones = ones;
    this.f = f;
    this.active = active;
    const partial = tf.tidy(() => tf.matMul(f, tf.tensor2d(s.W_dec.subarray(i0 * d, i1 * d), [mk, d])));
    const fired = columnSums(active, ones);
    const fSum = columnSums(f, ones);
    v.partial.set(hostView(partial).subarray(0, rows * d));
    s.fired.set(hostView(fired), i0);
    const sums = hostView(fSum);
    for (let c = 0; c < mk; c++) v.fSum[i0 + c] = sums[c]!;
    let nnz = 0;
    for (let i = i0; i < i1; i++) nnz += s.fired[i]!;
    tf.dispose([partial, fired, fSum]);
    return nnz;
  }

  /**
   * Given G (shared) and the sparsity constants spars/decay of the slice (host), its gradients
   * into the shared gW_enc columns, gb_enc entries and gW_dec rows (decay term included).
   * `tanh` (JumpReLU's 'tanh' penalty, sae/jumprelu.ts): its dL/df term joins dL/dpre and its
   * decoder-norm term is written into decay first; returns the slice's summed tanh terms (else 0).
   */
  backward(rows: number, tanh?: { j: JumpReluStep; decNorm: Float64Array }): number {
    const { d, m } = this.layout;
    const { i0, i1, s } = this;
    const mk = i1 - i0;
    const xc = this.xc!;
    const f = this.f!;
    const active = this.active!;
    const ones = this.ones!;
    const G = tf.tensor2d(s.G.subarray(0, rows * d), [rows, d]);
    let tanhSum = 0;
    const gPre = tf.tidy(() => {
      const WdecT = tf.transpose(tf.tensor2d(s.W_dec.subarray(i0 * d, i1 * d), [mk, d]));
      let dF = tf.fused.matMul({ a: G, b: WdecT, bias: tf.tensor1d(s.spars.subarray(i0, i1)) }) as tf.Tensor2D;
      if (tanh) {
        // t = tanh(c f ||W_dec_i||): dL/df += lambda c ||W_dec_i|| (1 - t^2) / B; dL/d||W_dec_i|| = (lambda c / B) sum_b f (1 - t^2).
        const c = tanh.j.tanhScale!;
        const scale = (tanh.j.coefficient * c) / rows;
        const dn = tf.tensor1d(Float32Array.from(tanh.decNorm.subarray(i0, i1)));
        const t = tf.tanh(tf.mul(tf.mul(f, dn), c));
        const sech2 = tf.sub(1, tf.square(t)) as tf.Tensor2D;
        tanhSum = tf.sum(t).dataSync()[0]!;
        dF = tf.add(dF, tf.mul(tf.mul(sech2, dn), scale)) as tf.Tensor2D;
        const decay = tf.div(tf.mul(columnSums(tf.mul(f, sech2) as tf.Tensor2D, ones), scale), tf.maximum(dn, 1e-12));
        s.decay.set(decay.dataSync() as Float32Array, i0);
      }
      return tf.mul(dF, active) as tf.Tensor2D;
    });
    this.active = null;
    active.dispose();
    const gb_enc = columnSums(gPre, ones);
    // The two weight-gradient products contract over the batch. As [d, B] x [B, mk] XNNPACK packs
    // the large right operand every call; from d = 256 up an explicit transpose of the [B, mk]
    // operand and [mk, B] x [B, d] is faster (B: 147 + 574 ms instead of 1,043; d = 128: slower).
    const transposed = d >= TRANSPOSE_GRADS_FROM_D;
    const gW_enc = tf.tidy(() => (transposed ? tf.matMul(tf.transpose(gPre), xc) : tf.matMul(tf.transpose(xc), gPre))); // [mk, d] | [d, mk]
    gPre.dispose();
    const gW_dec = tf.tidy(() => (transposed ? tf.matMul(tf.transpose(f), G) : tf.matMul(tf.transpose(G), f))); // [mk, d] | [d, mk]
    G.dispose();
    this.release();

    const ge = hostView(gW_enc);
    if (transposed) {
      for (let c = 0; c < mk; c++) for (let j = 0; j < d; j++) s.gW_enc[j * m + i0 + c] = ge[c * d + j]!;
    } else {
      for (let j = 0; j < d; j++) s.gW_enc.set(ge.subarray(j * mk, (j + 1) * mk), j * m + i0);
    }
    s.gb_enc.set(hostView(gb_enc), i0);
    const gd = hostView(gW_dec);
    for (let c = 0; c < mk; c++) {
      const i = i0 + c;
      const dn = s.decay[i]!;
      for (let j = 0; j < d; j++) s.gW_dec[i * d + j] = (transposed ? gd[c * d + j]! : gd[j * mk + c]!) + dn * s.W_dec[i * d + j]!;
    }
    tf.dispose([gW_enc, gb_enc, gW_dec]);
    return tanhSum;
  }

  /** Free the tensors kept between phases. */
  release(): void {
    for (const t of [this.xc, this.f, this.active, this.ones]) t?.dispose();
    this.xc = this.f = this.active = this.ones = null;
  }
}
