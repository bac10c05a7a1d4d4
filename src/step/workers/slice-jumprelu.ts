/**
 * JumpReLU (sae/jumprelu.ts) over one worker's slice of the features: the scan against the
 * slice's thresholds theta = exp(log_threshold), which also records the entries in the rectangle
 * kernel's window, and the backward (kernels/jumprelu-loops.ts, the loops the one-thread sparse
 * step runs over every feature).
 */
import type { JumpReluStep } from '../../sae/jumprelu.js';
import { decoderNorms, jumpReluGradients, JumpReluScratch, scanJumpRelu, thresholdGradients, thresholdsOf } from '../kernels/jumprelu-loops.js';
import type { DenseJumpRelu, DenseSlice } from './slice-dense.js';
import type { LoopKernels } from '../kernels/loops.js';
import type { SliceViews, StateViews } from './layout.js';

/** What a worker's backward needs of the step's JumpReLU config: the config and the whole batch's L0 ('target-l0'). */
export interface JumpReluBackward extends JumpReluStep {
  l0: number;
}

export class SliceJumpRelu {
  private readonly scratch = new JumpReluScratch();

  constructor(
    private readonly i0: number,
    private readonly i1: number,
  ) {}

  /** The slice's thresholds, then the scan of its pre-activations [rows, mk] against them. nnz, or -1 past capacity. */
  scan(pre: Float32Array, rows: number, s: StateViews, v: SliceViews, capacity: number, halfBandwidth: number): number {
    const { i0, i1 } = this;
    thresholdsOf(s.log_threshold, i0, i1, s.theta);
    return scanJumpRelu(pre, rows, i1 - i0, i0, s.theta, halfBandwidth, v, s.fired, v.fSum, capacity, this.scratch.window);
  }

  /** The slice's thresholds for the dense formulation's encode (slice-dense.ts), which records the kernel window. */
  denseEncode(s: StateViews, halfBandwidth: number): DenseJumpRelu {
    thresholdsOf(s.log_threshold, this.i0, this.i1, s.theta);
    return { theta: s.theta, halfBandwidth, window: this.scratch.window };
  }

  /** The dense formulation's gradients (slice-dense.ts, no L1 term), then log_threshold's; returns the slice's summed tanh terms. */
  denseBackward(rows: number, d: number, j: JumpReluBackward, s: StateViews, v: SliceViews, dense: DenseSlice): number {
    const { i0, i1, scratch } = this;
    scratch.ensure(i1);
    s.spars.fill(0, i0, i1);
    s.decay.fill(0, i0, i1);
    const tanh = j.penalty === 'tanh';
    if (tanh) decoderNorms(i0, i1, d, s.W_dec, v.decNorm);
    const tanhSum = dense.backward(rows, tanh ? { j, decNorm: v.decNorm } : undefined);
    thresholdGradients(i0, i1, d, rows, j.l0, scratch.window, s.G, s.W_dec, s.theta, v.decNorm, j, s.glog_threshold, scratch.dSum, scratch.count);
    return tanhSum;
  }

  /** The slice's gradients after the residual, log_threshold's into glog_threshold; returns its summed tanh terms. */
  backward(rows: number, d: number, m: number, j: JumpReluBackward, s: StateViews, v: SliceViews, loops: LoopKernels): number {
    const buffers = { ...s, ...v, entries: v, gLog: s.glog_threshold };
    return jumpReluGradients(this.i0, this.i1, rows, d, m, j.l0, j, buffers, loops, this.scratch);
  }
}
