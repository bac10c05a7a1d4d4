import { InternalError } from '../errors.js';
import type { Rng } from '../util/rng.js';

/** Where a drawn input came from, for the event record. */
export interface DrawnRow {
  /** Position in the scored pool (0-based, in the order offered). */
  poolIndex: number;
  /** Global row id in the dataset. */
  rowId: number;
  /** Its squared reconstruction error. */
  loss: number;
  tokenId?: number;
  token?: string;
  docId?: number;
  pos?: number;
}

/** How the draws were made. */
export type DrawMode =
  /** Without replacement, probability proportional to loss^2 (the paper). */
  | 'loss-squared'
  /** Fewer candidates with loss > 0 than draws: with replacement among them, as torch.multinomial. */
  | 'loss-squared-with-replacement'
  /** Every candidate has zero loss: uniform over the non-zero inputs. */
  | 'uniform'
  /** Fewer zero-loss candidates than draws: uniform with replacement. */
  | 'uniform-with-replacement'
  /** No input had a direction to copy (all zero, or empty pool): nothing drawn. */
  | 'none';

export interface DrawResult {
  mode: DrawMode;
  rows: DrawnRow[];
  /** The drawn inputs [rows.length, d], row-major, as offered (not normalised). */
  x: Float32Array;
  /** Inputs offered, and those excluded for having no direction (all-zero). */
  offered: number;
  excluded: number;
}

interface Slot {
  tier: number;
  key: number;
  weight: number;
  row: DrawnRow;
}

/**
 * Draws k inputs from a stream with probability proportional to loss^2, without replacement,
 * keeping only k rows in memory: Efraimidis & Spirakis (2006) weighted reservoir sampling,
 * key = ln(u) / w; the k largest keys are a sample by successive weighted draws, the same law
 * as torch.multinomial(w, k, replacement=False). Inputs with zero loss rank below every input
 * with positive loss (tier 0, uniform keys), so they are used only when nothing else is left;
 * inputs with no direction are never drawn.
 */
export class WeightedReservoir {
  private readonly heap: number[] = [];
  private readonly slots: Slot[] = [];
  private readonly data: Float32Array;
  private positive = 0;
  private zeroLoss = 0;
  private offeredRows = 0;
  private excludedRows = 0;

  constructor(
    readonly k: number,
    readonly d: number,
    private readonly rng: Rng,
  ) {
    this.data = new Float32Array(k * d);
  }

  /**
   * Offer one input. x: its d values (copied only if it enters the reservoir); hasDirection:
   * false for an input with nothing to normalise (excluded).
   */
  offer(x: Float32Array, loss: number, hasDirection: boolean, row: Omit<DrawnRow, 'poolIndex' | 'loss'>): void {
    const poolIndex = this.offeredRows++;
    if (!hasDirection) {
      this.excludedRows++;
      return;
    }
    if (!(loss >= 0) || !Number.isFinite(loss)) {
      throw new InternalError(`WeightedReservoir: loss ${loss} of pool row ${poolIndex} is not a finite non-negative number`);
    }
    if (this.k === 0) return;
    const weight = loss * loss;
    const tier = weight > 0 ? 1 : 0;
    if (tier) this.positive++;
    else this.zeroLoss++;
    // 1 - u lies in (0, 1], so the log is finite.
    const lu = Math.log(1 - this.rng.next());
    const key = tier ? lu / weight : lu;
    const full = this.heap.length === this.k;
    if (full && !this.above(tier, key, this.slots[this.heap[0]!]!)) return;
    const slotIndex = full ? this.heap[0]! : this.heap.length;
    this.slots[slotIndex] = { tier, key, weight, row: { ...row, poolIndex, loss } };
    this.data.set(x.subarray(0, this.d), slotIndex * this.d);
    if (full) this.siftDown(0);
    else {
      this.heap.push(slotIndex);
      this.siftUp(this.heap.length - 1);
    }
  }

  /** The k draws, in draw order, and how they were made. */
  result(): DrawResult {
    const held = [...this.heap].sort((a, b) => {
      const sa = this.slots[a]!;
      const sb = this.slots[b]!;
      return sb.tier - sa.tier || sb.key - sa.key;
    });
    let picked: number[];
    let mode: DrawMode;
    if (this.k === 0 || held.length === 0) {
      picked = [];
      mode = 'none';
    } else if (this.positive >= this.k) {
      picked = held;
      mode = 'loss-squared';
    } else if (this.positive > 0) {
      // The reservoir holds every positive-loss input (they outrank the rest).
      const cands = held.filter((s) => this.slots[s]!.tier === 1);
      picked = withReplacement(cands, cands.map((s) => this.slots[s]!.weight), this.k, this.rng);
      mode = 'loss-squared-with-replacement';
    } else if (this.zeroLoss >= this.k) {
      picked = held;
      mode = 'uniform';
    } else {
      picked = withReplacement(held, held.map(() => 1), this.k, this.rng);
      mode = 'uniform-with-replacement';
    }
    const x = new Float32Array(picked.length * this.d);
    picked.forEach((s, j) => x.set(this.data.subarray(s * this.d, (s + 1) * this.d), j * this.d));
    const rows = picked.map((s) => ({ ...this.slots[s]!.row }) as DrawnRow);
    return { mode, rows, x, offered: this.offeredRows, excluded: this.excludedRows };
  }

  private above(tier: number, key: number, s: Slot): boolean {
    return tier > s.tier || (tier === s.tier && key > s.key);
  }

  private less(i: number, j: number): boolean {
    const a = this.slots[this.heap[i]!]!;
    const b = this.slots[this.heap[j]!]!;
    return a.tier < b.tier || (a.tier === b.tier && a.key < b.key);
  }

  private swap(i: number, j: number): void {
    const t = this.heap[i]!;
    this.heap[i] = this.heap[j]!;
    this.heap[j] = t;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) return;
      this.swap(i, p);
      i = p;
    }
  }

  private siftDown(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let s = i;
      if (l < n && this.less(l, s)) s = l;
      if (r < n && this.less(r, s)) s = r;
      if (s === i) return;
      this.swap(i, s);
      i = s;
    }
  }
}

/** k independent draws from items with probability proportional to weights (inverse CDF). */
export function withReplacement<T>(items: readonly T[], weights: readonly number[], k: number, rng: Rng): T[] {
  const cdf = new Float64Array(weights.length);
  let total = 0;
  weights.forEach((w, i) => (cdf[i] = total += w));
  const out: T[] = [];
  for (let j = 0; j < k; j++) {
    const u = rng.next() * total;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    out.push(items[lo]!);
  }
  return out;
}
