import * as tf from '../backend/tfjs.js';
import type { SaeTensors } from '../sae/forward.js';
import { scoreChunkRows, scoreRows, type ScoredRows } from '../sae/row-scores.js';

export type { ScoredRows } from '../sae/row-scores.js';

/**
 * Where the pool's rows are scored: tfjs on the calling thread (tfjsRowScorer), or the step's
 * worker threads, each over a range of the rows (step/workers/pool-score.ts, which has this
 * shape without importing it: step/ does not depend on resample/). Wherever they are computed, a
 * row's scores equal scoreRows' on that row to float32 rounding (bit for bit on this thread).
 */
export interface RowScorer {
  /** Rows one score() call takes at most. */
  readonly chunkRows: number;
  /** Where the scoring runs, for the log: 'this thread', '2 workers'. */
  readonly where: string;
  /** xs [rows, d] row-major, rows <= chunkRows: the scores of consecutive row ranges covering them, in row order. */
  score(xs: Float32Array, rows: number): Promise<ScoredRows[]>;
}

/** scoreRows on the calling thread's backend (the reference, and the path without workers or on a GPU). */
export function tfjsRowScorer(sae: SaeTensors & { d: number; m: number }, chunkRows = scoreChunkRows(sae.m)): RowScorer {
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
