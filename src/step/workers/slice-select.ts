import { rowRange } from './row-reduce.js';
import { keepPerBatch, keepPerRow, thresholdFromCandidates, topCandidates, view, type SelectionLayout, type WorkerSelection } from './selection.js';

/** One slice's views of the selection buffer (selection.ts). */
interface SelectionViews {
  rowThreshold: Float32Array;
  auxThreshold: Float32Array;
  cand: Float32Array[];
  auxCand: Float32Array[];
  auxPartial: Float32Array[];
  auxError: Float32Array;
}

/**
 * A worker's part in a TopK / BatchTopK step (selection.ts): keeps its slice's pre-activations
 * between the phases, writes its candidates, takes its share of the thresholds, and knows the
 * step's dead latents in its slice for AuxK.
 */
export class SliceSelect {
  private views: SelectionViews | null = null;
  /** The slice's pre-activations of the current step [rows, mk]: the encoder product's own array, or a copy in `kept`. */
  pre: Float32Array = new Float32Array(0);
  private kept = new Float32Array(0);
  private scratch = new Float32Array(0);
  private row = new Float32Array(0);
  /** The current step's selection, and its dead latents in this slice as local columns. */
  selection: WorkerSelection | null = null;
  deadLocal: Int32Array = new Int32Array(0);

  constructor(
    private readonly widths: number[],
    private readonly slice: number,
    private readonly i0: number,
  ) {}

  /** Use a (new) selection buffer. */
  install(buffer: SharedArrayBuffer, l: SelectionLayout): void {
    this.views = {
      rowThreshold: view(buffer, l.rowThreshold),
      auxThreshold: view(buffer, l.auxThreshold),
      cand: l.slices.map((s) => view(buffer, s.cand)),
      auxCand: l.slices.map((s) => view(buffer, s.auxCand)),
      auxPartial: l.slices.map((s) => view(buffer, s.auxPartial)),
      auxError: view(buffer, l.auxError),
    };
  }

  get v(): SelectionViews {
    return this.views!;
  }

  /**
   * Keep pre [rows, mk] for the scan (a copy unless `stable`: pre stays as it is until the next
   * encode, as the SIMD product's array in shared memory does), and write this slice's
   * candidates for the selection and for AuxK over its dead latents.
   */
  candidates(rows: number, pre: Float32Array, sel: WorkerSelection, stable = false): void {
    const mk = this.widths[this.slice]!;
    const n = rows * mk;
    this.selection = sel;
    if (stable) this.pre = pre.subarray(0, n);
    else {
      if (this.kept.length < n) this.kept = new Float32Array(n);
      this.kept.set(pre.subarray(0, n));
      this.pre = this.kept.subarray(0, n);
    }
    const cand = this.v.cand[this.slice]!;
    if (sel.kind === 'topk') {
      this.grow(mk);
      const keep = keepPerRow(sel.k, mk);
      for (let b = 0; b < rows; b++) topCandidates(this.pre.subarray(b * mk), mk, keep, cand, b * keep, this.scratch);
    } else {
      this.grow(n);
      topCandidates(this.pre, n, keepPerBatch(sel.k, rows, mk), cand, 0, this.scratch);
    }
    this.deadLocal = sel.auxK ? localIndices(sel.auxK.dead, this.i0, this.i0 + mk) : new Int32Array(0);
    if (!sel.auxK) return;
    const nd = this.deadLocal.length;
    const keep = keepPerRow(sel.auxK.k, mk);
    const auxCand = this.v.auxCand[this.slice]!;
    if (this.row.length < nd) this.row = new Float32Array(nd);
    this.grow(nd);
    for (let b = 0; b < rows; b++) {
      for (let q = 0; q < nd; q++) this.row[q] = this.pre[b * mk + this.deadLocal[q]!]!;
      topCandidates(this.row, nd, keep, auxCand, b * keep, this.scratch);
    }
  }

  /**
   * This worker's share of the thresholds once every slice wrote its candidates: its row range
   * of the per-row ones (topk, AuxK); the batch's single one (batchtopk) on worker 0.
   */
  thresholds(rows: number): void {
    const sel = this.selection!;
    const W = this.widths.length;
    const { rowThreshold, auxThreshold, cand, auxCand } = this.v;
    const [r0, r1] = rowRange(rows, W, this.slice);
    if (sel.kind === 'topk') {
      const keeps = this.widths.map((mk) => keepPerRow(sel.k, mk));
      this.grow(keeps.reduce((a, b) => a + b, 0));
      for (let b = r0; b < r1; b++) {
        rowThreshold[b] = thresholdFromCandidates(keeps.map((keep, w) => ({ cand: cand[w]!, offset: b * keep, keep })), sel.k, this.scratch);
      }
    } else if (this.slice === 0) {
      const keeps = this.widths.map((mk) => keepPerBatch(sel.k, rows, mk));
      this.grow(keeps.reduce((a, b) => a + b, 0));
      const t = thresholdFromCandidates(keeps.map((keep, w) => ({ cand: cand[w]!, offset: 0, keep })), sel.k * rows, this.scratch);
      rowThreshold.fill(t, 0, rows);
    }
    if (!sel.auxK) return;
    const k = sel.auxK.k;
    const keeps = this.widths.map((mk) => keepPerRow(k, mk));
    this.grow(keeps.reduce((a, b) => a + b, 0));
    for (let b = r0; b < r1; b++) {
      auxThreshold[b] = thresholdFromCandidates(keeps.map((keep, w) => ({ cand: auxCand[w]!, offset: b * keep, keep })), k, this.scratch);
    }
  }

  private grow(n: number): void {
    if (this.scratch.length < n) this.scratch = new Float32Array(n);
  }
}

/** The entries of `sorted` (ascending global indices) in [i0, i1), as local indices i - i0. */
export function localIndices(sorted: Int32Array, i0: number, i1: number): Int32Array {
  let a = 0;
  while (a < sorted.length && sorted[a]! < i0) a++;
  let b = a;
  while (b < sorted.length && sorted[b]! < i1) b++;
  return Int32Array.from(sorted.subarray(a, b), (i) => i - i0);
}
