/**
 * Per-feature top-k selection over a stream of activations, in bounded memory: one fixed-size
 * min-heap per feature stored in flat typed arrays (m x k slots), so the whole dictionary costs
 * 12 bytes per slot and no per-example objects while scanning.
 *
 * Order: higher activation first; equal activations go to the smaller row id (deterministic
 * whatever the chunking or backend).
 */

/** One selected example: which row, and how strongly the feature fired on it. */
export interface TopKEntry {
  rowId: number;
  activation: number;
}

export class FeatureTopK {
  readonly m: number;
  readonly k: number;
  private readonly act: Float32Array;
  private readonly row: Float64Array;
  private readonly size: Int32Array;
  /**
   * The activation a candidate must reach to be considered for feature j: the worst kept value once
   * the heap is full, -Infinity before. A cheap first test for the hot loop (see `wants`).
   */
  readonly threshold: Float32Array;

  constructor(m: number, k: number) {
    this.m = m;
    this.k = k;
    this.act = new Float32Array(m * k);
    this.row = new Float64Array(m * k);
    this.size = new Int32Array(m);
    this.threshold = new Float32Array(m).fill(k > 0 ? -Infinity : Infinity);
  }

  /** Whether (activation of feature j) might enter its list; exact ties are settled in offer(). */
  wants(j: number, activation: number): boolean {
    return activation >= this.threshold[j]!;
  }

  /** Consider one (row, activation) for feature j. */
  offer(j: number, activation: number, rowId: number): void {
    const k = this.k;
    if (k === 0) return;
    const base = j * k;
    const n = this.size[j]!;
    if (n < k) {
      this.act[base + n] = activation;
      this.row[base + n] = rowId;
      this.size[j] = n + 1;
      this.siftUp(base, n);
      if (n + 1 === k) this.threshold[j] = this.act[base]!;
      return;
    }
    if (!this.isWorse(this.act[base]!, this.row[base]!, activation, rowId)) return;
    this.act[base] = activation;
    this.row[base] = rowId;
    this.siftDown(base, k);
    this.threshold[j] = this.act[base]!;
  }

  /** Feature j's kept examples, best first. */
  result(j: number): TopKEntry[] {
    const base = j * this.k;
    const out: TopKEntry[] = [];
    for (let i = 0; i < this.size[j]!; i++) out.push({ rowId: this.row[base + i]!, activation: this.act[base + i]! });
    return out.sort((a, b) => b.activation - a.activation || a.rowId - b.rowId);
  }

  /** Every row id kept by any feature (each once, ascending). */
  rowIds(): Float64Array {
    const ids = new Set<number>();
    for (let j = 0; j < this.m; j++) {
      const base = j * this.k;
      for (let i = 0; i < this.size[j]!; i++) ids.add(this.row[base + i]!);
    }
    return Float64Array.from(ids).sort();
  }

  /** Whether (a, ra) ranks below (b, rb): lower activation, or equal activation and larger row id. */
  private isWorse(a: number, ra: number, b: number, rb: number): boolean {
    return a < b || (a === b && ra > rb);
  }

  private swap(i: number, j: number): void {
    const a = this.act[i]!;
    this.act[i] = this.act[j]!;
    this.act[j] = a;
    const r = this.row[i]!;
    this.row[i] = this.row[j]!;
    this.row[j] = r;
  }

  private siftUp(base: number, i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.isWorse(this.act[base + i]!, this.row[base + i]!, this.act[base + p]!, this.row[base + p]!)) return;
      this.swap(base + i, base + p);
      i = p;
    }
  }

  private siftDown(base: number, n: number): void {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < n && this.isWorse(this.act[base + l]!, this.row[base + l]!, this.act[base + w]!, this.row[base + w]!)) w = l;
      if (r < n && this.isWorse(this.act[base + r]!, this.row[base + r]!, this.act[base + w]!, this.row[base + w]!)) w = r;
      if (w === i) return;
      this.swap(base + i, base + w);
      i = w;
    }
  }
}
