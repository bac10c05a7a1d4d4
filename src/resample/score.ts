import type { Batch } from '../data/types.js';
import { DivergenceError, InternalError } from '../errors.js';
import type { SaeParams } from '../sae/params.js';
import type { Rng } from '../util/rng.js';
import { WeightedReservoir, type DrawResult } from './draw.js';
import { tfjsRowScorer, type RowScorer, type ScoredRows } from './row-scorer.js';

/** Summary of a set of per-input losses. */
export interface LossStats {
  count: number;
  mean: number;
  std: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** What scoring the pool measured: the SAE just before the event, on fresh inputs. */
export interface PoolStats {
  rows: number;
  /** Inputs with no direction to copy (all zero, or equal to b_dec when centring), never drawn. */
  excluded: number;
  /** Mean over rows of ||x - x_hat||^2. */
  mse: number;
  /** 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2 over the pool. */
  explainedVariance: number;
  loss: LossStats;
}

/** Pure summary statistics (population std; quantiles by nearest rank). */
export function lossStats(values: ArrayLike<number>): LossStats {
  const n = values.length;
  if (n === 0) return { count: 0, mean: NaN, std: NaN, min: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (sorted[i]! - mean) ** 2;
  const q = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
  return { count: n, mean, std: Math.sqrt(ss / n), min: sorted[0]!, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: sorted[n - 1]! };
}

/**
 * Scores pool inputs with the current SAE (sae/row-scores.ts: ||x - x_hat||^2 per row, on this
 * thread or the step's workers) and feeds them, in row order, to a WeightedReservoir.
 */
export class PoolScorer {
  private readonly reservoir: WeightedReservoir;
  private readonly losses: number[] = [];
  private sumLoss = 0;
  private sumCentredSq = 0;
  private readonly centredSum: Float64Array;

  constructor(
    private readonly params: SaeParams,
    k: number,
    private readonly centre: boolean,
    rng: Rng,
    private readonly scorer: RowScorer = tfjsRowScorer(params),
  ) {
    this.reservoir = new WeightedReservoir(k, params.d, rng);
    this.centredSum = new Float64Array(params.d);
  }

  /** Where the rows are scored (RowScorer.where). */
  get where(): string {
    return this.scorer.where;
  }

  /** Score all rows of a batch, chunk by chunk. */
  async add(batch: Batch): Promise<void> {
    const d = this.params.d;
    if (batch.d !== d) throw new InternalError(`PoolScorer: pool batch has width ${batch.d}, the SAE ${d}`);
    for (let start = 0; start < batch.rows; ) {
      const c = Math.min(this.scorer.chunkRows, batch.rows - start);
      const parts = await this.scorer.score(batch.x.subarray(start * d, (start + c) * d), c);
      if (parts.reduce((a, p) => a + p.rows, 0) !== c) throw new InternalError(`PoolScorer: ${this.scorer.where} scored ${parts.map((p) => p.rows).join(' + ')} rows of ${c}`);
      for (const part of parts) {
        this.take(batch, start, part);
        start += part.rows;
      }
    }
  }

  /** The scores of rows [start, start + part.rows) of batch. */
  private take(batch: Batch, start: number, { rows: c, packed: v }: ScoredRows): void {
    const d = this.params.d;
    for (let j = 0; j < d; j++) this.centredSum[j]! += v[3 * c + j]!;
    for (let r = 0; r < c; r++) {
      const i = start + r;
      const loss = v[r]!;
      if (!Number.isFinite(loss)) {
        throw new DivergenceError(
          `resampling: the SAE's reconstruction error is ${loss} on input row ${batch.rowIds[i]} of the scoring sample`,
          'The weights or this input hold NaN/Inf values; lower train.lr or check the data, then resume from an earlier checkpoint.',
        );
      }
      const dirSq = this.centre ? v[2 * c + r]! : v[c + r]!;
      this.losses.push(loss);
      this.sumLoss += loss;
      this.sumCentredSq += v[2 * c + r]!;
      this.reservoir.offer(batch.x.subarray(i * d, (i + 1) * d), loss, dirSq > 0, {
        rowId: batch.rowIds[i]!,
        ...(batch.meta.tokenId ? { tokenId: batch.meta.tokenId[i]! } : {}),
        ...(batch.meta.token ? { token: batch.meta.token[i]! } : {}),
        ...(batch.meta.docId ? { docId: batch.meta.docId[i]! } : {}),
        ...(batch.meta.pos ? { pos: batch.meta.pos[i]! } : {}),
      });
    }
  }

  get rows(): number {
    return this.losses.length;
  }

  finish(): { draw: DrawResult; pool: PoolStats } {
    const n = this.losses.length;
    const draw = this.reservoir.result();
    // sum ||x - mean||^2 = sum ||x - b||^2 - n ||mean - b||^2, with b = b_dec as the shift (it sits
    // near the data's centre, so the subtraction loses little precision).
    let shiftSq = 0;
    for (const s of this.centredSum) shiftSq += (s / n) ** 2;
    const variance = this.sumCentredSq - n * shiftSq;
    return {
      draw,
      pool: {
        rows: n,
        excluded: draw.excluded,
        mse: this.sumLoss / n,
        explainedVariance: variance > 0 ? 1 - this.sumLoss / variance : NaN,
        loss: lossStats(this.losses),
      },
    };
  }
}
