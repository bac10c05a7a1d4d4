import * as tf from '@tensorflow/tfjs';
import { decode, encode, type SaeTensors } from '../sae/forward.js';

/**
 * What scoring a range of pool rows gives, packed in one array (one read-back):
 * [loss c | ||x||^2 c | ||x - b_dec||^2 c | sum over the rows of (x - b_dec) d], c = `rows`.
 */
export interface ScoredRows {
  rows: number;
  packed: Float32Array;
}

/**
 * Where the pool's rows are scored: tfjs on the calling thread (tfjsRowScorer), or the step's
 * worker threads, each over a range of the rows (step/workers/pool-score.ts). Either way each
 * row's loss comes from scoreRows on that row, so the losses, hence the draws, are the same.
 */
export interface RowScorer {
  /** Rows one score() call takes at most. */
  readonly chunkRows: number;
  /** Where the scoring runs, for the log: 'this thread', '2 workers'. */
  readonly where: string;
  /** xs [rows, d] row-major, rows <= chunkRows: the scores of consecutive row ranges covering them, in row order. */
  score(xs: Float32Array, rows: number): Promise<ScoredRows[]>;
}

/**
 * The packed scores of x's rows (ScoredRows): the squared reconstruction error ||x - x_hat||^2,
 * the paper's "loss" of the autoencoder on the input and what the reference PyTorch trainer
 * uses (no L1 term, as there), beside what the pool's statistics and the draw's exclusions need.
 * x [c, d] -> [3c + d]
 */
export function scoreRows(sae: SaeTensors, x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const f = encode(sae, x);
    return scoreRowsGiven(sae, x, f);
  });
}

/** scoreRows given x's activations f [c, m] = encode(sae, x). */
export function scoreRowsGiven(sae: SaeTensors, x: tf.Tensor2D, f: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const xc = tf.sub(x, sae.b_dec);
    const loss = tf.sum(tf.square(tf.sub(x, decode(sae, f))), 1);
    return tf.concat([loss, tf.sum(tf.square(x), 1), tf.sum(tf.square(xc), 1), tf.sum(xc, 0)]) as tf.Tensor1D;
  });
}

/** Rows per scoring chunk on one thread: f [chunk, m] near 64 MB. */
export function defaultScoreChunkRows(m: number): number {
  return Math.max(256, Math.min(4096, Math.floor(2 ** 24 / m)));
}

/** scoreRows on the calling thread's backend (the reference, and the path without workers or on a GPU). */
export function tfjsRowScorer(sae: SaeTensors & { d: number; m: number }, chunkRows = defaultScoreChunkRows(sae.m)): RowScorer {
  return {
    chunkRows,
    where: 'this thread',
    async score(xs, rows) {
      const packed = tf.tidy(() => scoreRows(sae, tf.tensor2d(xs.subarray(0, rows * sae.d), [rows, sae.d])));
      try {
        return [{ rows, packed: (await packed.data()) as Float32Array }];
      } finally {
        packed.dispose();
      }
    },
  };
}
