import * as tf from '../backend/tfjs.js';

/**
 * The rows a step trains on, as the data layer's Batch has them (step/ does not import data/):
 * x [rows, d], or where `pooled` is set, row r is row index[r] of the shared pool (reading x
 * gathers them).
 */
export interface StepBatch {
  readonly x: Float32Array;
  rows: number;
  d: number;
  pooled?: { pool: Float32Array; index: Int32Array };
}

/**
 * A training batch as the step engine gets it from the loop: the host's rows (contiguous, or left
 * in the shuffle buffer's pool: Batch.pooled) and the input scale. The worker threads copy and
 * scale the rows themselves; tfjs' tensor x * scale is made only if a formulation on this thread
 * asks for it (tensor()), once, and freed by dispose().
 */
export class StepInput {
  private t: tf.Tensor2D | null = null;

  constructor(
    readonly batch: StepBatch,
    /** Every value of x is multiplied by this (sae.normalize's input scale; 1: none). */
    readonly scale = 1,
  ) {}

  get rows(): number {
    return this.batch.rows;
  }

  /** x * scale [rows, d]: float32 products, as tf.mul(x, scale) rounds them. */
  tensor(): tf.Tensor2D {
    const { batch, scale } = this;
    return (this.t ??= tf.tidy(() => {
      const t = tf.tensor2d(batch.x, [batch.rows, batch.d]);
      return scale === 1 ? t : (tf.mul(t, scale) as tf.Tensor2D);
    }));
  }

  dispose(): void {
    this.t?.dispose();
    this.t = null;
  }
}

/** What a step trains on: a tensor already scaled, or the loop's batch. */
export type StepX = tf.Tensor2D | StepInput;

export function stepTensor(x: StepX): tf.Tensor2D {
  return x instanceof StepInput ? x.tensor() : x;
}

export function stepRows(x: StepX): number {
  return x instanceof StepInput ? x.rows : x.shape[0];
}
