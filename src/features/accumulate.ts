import type { FeatureTopK } from '../eval/top-k.js';

/**
 * Streaming per-feature firing statistics: count of rows with f_i > 0, and the mean, variance
 * (Welford, in float64) and max of f_i over those rows. Exact whatever the chunking.
 */
export class FeatureMoments {
  readonly m: number;
  /** Rows seen. */
  rows = 0;
  readonly count: Float64Array;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  readonly max: Float64Array;

  constructor(m: number) {
    this.m = m;
    this.count = new Float64Array(m);
    this.mean = new Float64Array(m);
    this.m2 = new Float64Array(m);
    this.max = new Float64Array(m);
  }

  /**
   * Add a chunk of feature activations and offer every firing entry to the top-k tracker.
   * f [rows, m] row-major; rowIds [rows].
   */
  add(f: Float32Array, rows: number, rowIds: ArrayLike<number>, topK: FeatureTopK | null): void {
    const m = this.m;
    const { count, mean, m2, max } = this;
    const thr = topK ? topK.threshold : null;
    for (let r = 0; r < rows; r++) {
      const base = r * m;
      for (let j = 0; j < m; j++) {
        const v = f[base + j]!;
        if (!(v > 0)) continue;
        const c = count[j]! + 1;
        count[j] = c;
        const delta = v - mean[j]!;
        const mu = mean[j]! + delta / c;
        mean[j] = mu;
        m2[j]! += delta * (v - mu);
        if (v > max[j]!) max[j] = v;
        if (thr !== null && v >= thr[j]!) topK!.offer(j, v, rowIds[r]!);
      }
    }
    this.rows += rows;
  }

  /** Population standard deviation over firing rows (0 for features that fired at most once). */
  std(j: number): number {
    const c = this.count[j]!;
    return c > 0 ? Math.sqrt(Math.max(0, this.m2[j]! / c)) : 0;
  }
}
