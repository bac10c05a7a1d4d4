import { ConfigError } from '../../errors.js';
import { Rng } from '../../util/rng.js';

/**
 * Synthetic superposition data with a known dictionary: the toy setting of Sharkey, Braun &
 * Millidge (2022, "Taking features out of superposition with sparse autoencoders") as replicated
 * by Cunningham et al. (2023, "Sparse Autoencoders Find Highly Interpretable Features in
 * Language Models", section 2 and appendix).
 *
 *   G_j   ground-truth directions: i.i.d. N(0, I_d) rows normalised to unit norm, j < features
 *   p_j   P(feature j active) = decay^j rescaled so that sum_j p_j = active (the mean count)
 *   c_ij  independent Bernoulli(p_j) activity times a magnitude U1 * U2, U1, U2 ~ Uniform(0, 1)
 *   x_i   sum_j c_ij G_j (+ isotropic Gaussian noise of std `noise`)
 *
 * Correlated option (the original code's variant): for every block of `blockRows` rows draw
 * z ~ N(0, C) with a random correlation matrix C, set p_j proportional to Phi(z_j) decay^j and
 * rescale as above, so features whose z are correlated tend to be common or rare together.
 */
export interface SynthOptions {
  /** Rows (samples) to generate. */
  rows: number;
  /** Number of ground-truth features G. */
  features: number;
  /** Activation width d. */
  dim: number;
  /** Mean number of active features per row (k). */
  active: number;
  /** Per-index decay of the activation probability (1: all equal). */
  decay: number;
  /** Block-wise correlated probabilities through a Gaussian copula. */
  correlated: boolean;
  /** Std of isotropic Gaussian noise added to every element (0: none). */
  noise: number;
  seed: number;
  /** Rows per generated block (and per probability draw when correlated). */
  blockRows: number;
  /** Rank of the random correlation matrix C = normalised A A^T, A [features, rank] ~ N(0, 1). */
  correlationRank: number;
}

export const SYNTH_DEFAULTS: SynthOptions = {
  rows: 1_000_000,
  features: 512,
  dim: 256,
  active: 5,
  decay: 0.99,
  correlated: false,
  noise: 0,
  seed: 0,
  blockRows: 4096,
  correlationRank: 32,
};

/** p_j = decay^j * active / sum_i decay^i.  -> [features] */
export function featureProbabilities(features: number, active: number, decay: number): Float64Array {
  const p = new Float64Array(features);
  let sum = 0;
  for (let j = 0; j < features; j++) sum += p[j] = decay ** j;
  for (let j = 0; j < features; j++) p[j]! *= active / sum;
  if (p[0]! > 1) {
    throw new ConfigError(
      `with ${features} features, --active ${active} and --decay ${decay} the most common feature would be active with probability ${p[0]!.toFixed(3)} > 1`,
      'Lower --active, raise --decay towards 1, or use more --features.',
    );
  }
  return p;
}

/** Random unit-norm directions, row-major.  -> [count, d] */
export function randomUnitDirections(count: number, d: number, rng: Rng): Float32Array {
  const out = new Float32Array(count * d);
  const row = new Float64Array(d);
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      row[j] = rng.normal();
      s += row[j]! * row[j]!;
    }
    const k = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) out[i * d + j] = row[j]! * k;
  }
  return out;
}

/**
 * Standard normal CDF via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
 */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** One generated block of rows. */
export interface SynthBlock {
  /** x [rows, d], row-major. */
  x: Float32Array;
  rows: number;
  /** Number of active ground-truth features in each row.  [rows] */
  activeCount: Int32Array;
}

/**
 * Streams synthetic rows block by block; holds only the dictionary and one block in memory.
 * Fully determined by the options (seed included).
 */
export class SynthGenerator {
  readonly options: SynthOptions;
  /** Ground-truth dictionary G [features, dim], unit-norm rows. */
  readonly groundTruth: Float32Array;
  /** Base activation probabilities (decay only).  [features] */
  readonly probabilities: Float64Array;
  /** How often each feature was active so far.  [features] */
  readonly featureCounts: Float64Array;
  rowsDone = 0;
  activeTotal = 0;
  emptyRows = 0;
  private readonly codeRng: Rng;
  private readonly noiseRng: Rng;
  private readonly corrRng: Rng;
  /** Correlation factor A [features, rank] with rows scaled to unit norm (so diag C = 1). */
  private readonly corrFactor: Float64Array | null;

  constructor(options: SynthOptions) {
    this.options = options;
    const { features, dim, active, decay } = options;
    this.probabilities = featureProbabilities(features, active, decay);
    const root = new Rng(options.seed);
    this.groundTruth = randomUnitDirections(features, dim, root.fork('ground-truth'));
    this.codeRng = root.fork('codes');
    this.noiseRng = root.fork('noise');
    this.corrRng = root.fork('correlation');
    this.featureCounts = new Float64Array(features);
    this.corrFactor = options.correlated ? this.makeCorrelationFactor() : null;
  }

  /** True once `rows` rows have been produced. */
  get done(): boolean {
    return this.rowsDone >= this.options.rows;
  }

  /** The next block (at most blockRows and maxRows rows), or null when all rows are done. */
  nextBlock(maxRows = Infinity): SynthBlock | null {
    const { rows: total, blockRows, dim: d, features, noise } = this.options;
    const rows = Math.min(blockRows, total - this.rowsDone, maxRows);
    if (rows <= 0) return null;
    const p = this.corrFactor ? this.correlatedProbabilities() : this.probabilities;
    const x = new Float32Array(rows * d);
    const activeCount = new Int32Array(rows);
    const rng = this.codeRng;
    const G = this.groundTruth;
    for (let j = 0; j < features; j++) {
      const pj = p[j]!;
      if (pj <= 0) continue;
      // Independent Bernoulli(p) rows, drawn as geometric gaps between successes: the same
      // distribution as one coin per row, at a cost proportional to the number of successes.
      const logq = Math.log1p(-Math.min(pj, 1 - 1e-16));
      let r = geometricGap(rng, logq);
      while (r < rows) {
        const mag = rng.next() * rng.next();
        const xo = r * d;
        const go = j * d;
        for (let k = 0; k < d; k++) x[xo + k]! += mag * G[go + k]!;
        activeCount[r]!++;
        this.featureCounts[j]!++;
        r += 1 + geometricGap(rng, logq);
      }
    }
    if (noise > 0) for (let i = 0; i < x.length; i++) x[i]! += noise * this.noiseRng.normal();
    for (let r = 0; r < rows; r++) {
      this.activeTotal += activeCount[r]!;
      if (activeCount[r] === 0) this.emptyRows++;
    }
    this.rowsDone += rows;
    return { x, rows, activeCount };
  }

  private makeCorrelationFactor(): Float64Array {
    const { features, correlationRank: r } = this.options;
    const a = new Float64Array(features * r);
    for (let i = 0; i < features; i++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += (a[i * r + k] = this.corrRng.normal()) ** 2;
      const inv = 1 / Math.sqrt(s);
      for (let k = 0; k < r; k++) a[i * r + k]! *= inv;
    }
    return a;
  }

  /** z = A e, e ~ N(0, I_rank), so z ~ N(0, A A^T) with unit diagonal; p_j ~ Phi(z_j) decay^j. */
  private correlatedProbabilities(): Float64Array {
    const { features, correlationRank: r, active, decay } = this.options;
    const a = this.corrFactor!;
    const e = new Float64Array(r);
    for (let k = 0; k < r; k++) e[k] = this.corrRng.normal();
    const p = new Float64Array(features);
    let sum = 0;
    for (let j = 0; j < features; j++) {
      let z = 0;
      for (let k = 0; k < r; k++) z += a[j * r + k]! * e[k]!;
      sum += p[j] = normalCdf(z) * decay ** j;
    }
    for (let j = 0; j < features; j++) p[j] = Math.min(1, (p[j]! * active) / sum);
    return p;
  }
}

/** Failures before the first success of Bernoulli(p) trials; logq = log(1 - p). */
function geometricGap(rng: Rng, logq: number): number {
  const u = 1 - rng.next(); // (0, 1]
  return Math.floor(Math.log(u) / logq);
}
