import type { GroundTruthScores } from './mmcs.js';

/**
 * Reconstruction and sparsity metrics over an evaluation set, accumulated batch by batch in
 * float64 so they work over any number of rows. Definitions (as in SAELens' evals and the
 * PyTorch peer in /work/shared/peers/torch_sae.py):
 *
 *   mse               (1/N) sum_i ||x_i - x_hat_i||^2            (per row, summed over d)
 *   msePerElement     mse / d
 *   dataVariance      (1/N) sum_i ||x_i - mean(x)||^2            (mean over the whole set)
 *   nmse              mse / dataVariance
 *   explainedVariance 1 - sum_i ||x_i - x_hat_i||^2 / sum_i ||x_i - mean(x)||^2  = 1 - nmse
 *   l0                (1/N) sum_i #{j : f_ij > 0}
 *   l1                (1/N) sum_i sum_j f_ij
 *   deadFraction      features that never fired on the set
 *   denseFraction     features firing on more than `denseThreshold` of the rows
 *   shrinkage         mean over rows with x != 0 of ||x_hat_i|| / ||x_i||  (SAELens' l2_ratio)
 *   log10DensityHistogram  histogram of log10(firing frequency + 1e-10) per feature (SAELens'
 *                     feature-density convention; never-firing features land in the first bin)
 */
export interface EvalMetrics {
  rows: number;
  d: number;
  m: number;
  mse: number;
  msePerElement: number;
  dataVariance: number;
  nmse: number;
  explainedVariance: number;
  l0: number;
  l1: number;
  deadFraction: number;
  denseFraction: number;
  denseThreshold: number;
  shrinkage: number;
  log10DensityHistogram: { edges: number[]; counts: number[] };
  /** Present when a ground-truth dictionary was given. */
  groundTruth?: GroundTruthScores;
}

/** Host-side summary of one batch (what the device reduces a batch to). */
export interface BatchStats {
  rows: number;
  /** x [rows, d], for the data mean and variance. */
  x: Float32Array;
  /** ||x_i - x_hat_i||^2 per row.  [rows] */
  rowSquaredError: ArrayLike<number>;
  /** ||x_i|| and ||x_hat_i|| per row.  [rows] */
  xNorm: ArrayLike<number>;
  xHatNorm: ArrayLike<number>;
  /** Rows on which each feature fired (f > 0).  [m] */
  fireCounts: ArrayLike<number>;
  /** Sum over the batch of the active-feature count and of sum_j f_ij. */
  l0Sum: number;
  l1Sum: number;
}

/** Lower edges from -10 to 0 in steps of 0.5 (20 bins; the last includes 0). */
const LOG10_DENSITY_EDGES: readonly number[] = Array.from({ length: 21 }, (_, i) => -10 + i * 0.5);
const DENSITY_EPS = 1e-10;

export class MetricsAccumulator {
  readonly d: number;
  readonly m: number;
  readonly denseThreshold: number;
  private rows = 0;
  private sse = 0;
  private l0 = 0;
  private l1 = 0;
  private shrinkSum = 0;
  private shrinkRows = 0;
  private readonly fires: Float64Array;
  // Per-dimension running mean and sum of squared deviations (Chan et al.'s parallel update).
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;

  constructor(d: number, m: number, opts: { denseThreshold?: number } = {}) {
    this.d = d;
    this.m = m;
    this.denseThreshold = opts.denseThreshold ?? 0.1;
    this.fires = new Float64Array(m);
    this.mean = new Float64Array(d);
    this.m2 = new Float64Array(d);
  }

  add(b: BatchStats): void {
    const { d } = this;
    const n = b.rows;
    if (n === 0) return;
    const bMean = new Float64Array(d);
    for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) bMean[j]! += b.x[r * d + j]!;
    for (let j = 0; j < d; j++) bMean[j]! /= n;
    const total = this.rows + n;
    for (let j = 0; j < d; j++) {
      let m2 = 0;
      const mu = bMean[j]!;
      for (let r = 0; r < n; r++) {
        const v = b.x[r * d + j]! - mu;
        m2 += v * v;
      }
      const delta = mu - this.mean[j]!;
      this.m2[j]! += m2 + (delta * delta * this.rows * n) / total;
      this.mean[j]! += (delta * n) / total;
    }
    this.rows = total;
    for (let r = 0; r < n; r++) {
      this.sse += b.rowSquaredError[r]!;
      const xn = b.xNorm[r]!;
      if (xn > 0) {
        this.shrinkSum += b.xHatNorm[r]! / xn;
        this.shrinkRows++;
      }
    }
    for (let k = 0; k < this.m; k++) this.fires[k]! += b.fireCounts[k]!;
    this.l0 += b.l0Sum;
    this.l1 += b.l1Sum;
  }

  /** Firing frequency of each feature on the rows seen so far.  [m] */
  density(): Float64Array {
    return this.fires.map((c) => c / Math.max(1, this.rows));
  }

  result(): EvalMetrics {
    const n = this.rows;
    let ssv = 0;
    for (let j = 0; j < this.d; j++) ssv += this.m2[j]!;
    const density = this.density();
    let dead = 0;
    let dense = 0;
    for (const f of density) {
      if (f === 0) dead++;
      if (f > this.denseThreshold) dense++;
    }
    const mse = n > 0 ? this.sse / n : NaN;
    const nmse = ssv > 0 ? this.sse / ssv : NaN;
    return {
      rows: n,
      d: this.d,
      m: this.m,
      mse,
      msePerElement: mse / this.d,
      dataVariance: n > 0 ? ssv / n : NaN,
      nmse,
      explainedVariance: 1 - nmse,
      l0: n > 0 ? this.l0 / n : NaN,
      l1: n > 0 ? this.l1 / n : NaN,
      deadFraction: dead / this.m,
      denseFraction: dense / this.m,
      denseThreshold: this.denseThreshold,
      shrinkage: this.shrinkRows > 0 ? this.shrinkSum / this.shrinkRows : NaN,
      log10DensityHistogram: log10DensityHistogram(density),
    };
  }
}

/** Histogram of log10(density + 1e-10) over DENSITY_EDGES. */
export function log10DensityHistogram(density: ArrayLike<number>): { edges: number[]; counts: number[] } {
  const edges = [...LOG10_DENSITY_EDGES];
  const bins = edges.length - 1;
  const counts = new Array<number>(bins).fill(0);
  const lo = edges[0]!;
  const width = edges[1]! - lo;
  for (let i = 0; i < density.length; i++) {
    const v = Math.log10(density[i]! + DENSITY_EPS);
    const b = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)));
    counts[b]!++;
  }
  return { edges, counts };
}
