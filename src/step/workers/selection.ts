/**
 * TopK / BatchTopK selection (sae/activation.ts) and AuxK's TopK over the dead latents across
 * workers that each hold a slice of the features. A selection is a threshold: the (k+1)-th largest
 * entry of a row (topk), or of the whole batch (batchtopk, rank k x rows). That value is among the
 * union of every slice's own k+1 largest (its "candidates"), so each worker writes its candidates
 * and the threshold is taken from theirs alone: exact, and the same value the reference computes
 * over all features at once.
 *
 * The buffers live in one SharedArrayBuffer beside the workers' arena (plain JavaScript reads them,
 * not the SIMD loops), sized for the largest k seen and grown when a larger k comes (k annealing
 * starts large, so usually once).
 */
import { kthLargest } from '../../sae/activation.js';

/** The selection of a step as the workers make it: the main one, and AuxK's over dead latents. */
export interface WorkerSelection {
  kind: 'topk' | 'batchtopk';
  k: number;
  /** AuxK: dead latents (global indices, ascending), kept per row, coefficient; absent: no AuxK. */
  auxK?: { dead: Int32Array; k: number; coefficient: number };
}

/** A Float32 array's place in the selection buffer (byte offset, element count). */
export interface Span {
  offset: number;
  length: number;
}

/** Where everything lives in the selection buffer, and the k it was sized for. */
export interface SelectionLayout {
  B: number;
  d: number;
  /** Largest k (main) and k_aux (AuxK; 0: no AuxK room) the buffer holds candidates for. */
  k: number;
  kAux: number;
  /** [B] per-row thresholds of the main selection and of AuxK's. */
  rowThreshold: Span;
  auxThreshold: Span;
  /** Per slice: its candidates (main, AuxK) and its partial AuxK reconstruction [B, d]. */
  slices: { cand: Span; auxCand: Span; auxPartial: Span }[];
  /** [B, d] r = e_hat - e, AuxK's reconstruction error of the residual. */
  auxError: Span;
  bytes: number;
}

/** Candidates a slice of width mk keeps for a row (topk, AuxK): k + 1, or all its features when fewer. */
export function keepPerRow(k: number, mk: number): number {
  return Math.min(k + 1, mk);
}

/** Candidates a slice of width mk keeps for a batchtopk batch of `rows`: k rows + 1, or all its entries when fewer. */
export function keepPerBatch(k: number, rows: number, mk: number): number {
  return Math.min(k * rows + 1, rows * mk);
}

/** The selection buffer's layout for batches up to B rows, slices of these widths, k and k_aux. */
export function planSelection(B: number, d: number, widths: number[], k: number, kAux: number): SelectionLayout {
  let top = 0;
  const span = (length: number): Span => {
    const s = { offset: top, length };
    top += length * 4;
    return s;
  };
  const rowThreshold = span(B);
  const auxThreshold = span(B);
  // keepPerRow bounds keepPerBatch too: k rows + 1 <= B (k + 1) and rows mk <= B mk.
  const slices = widths.map((mk) => ({
    cand: span(B * keepPerRow(k, mk)),
    auxCand: span(kAux > 0 ? B * keepPerRow(kAux, mk) : 0),
    auxPartial: span(kAux > 0 ? B * d : 0),
  }));
  const auxError = span(kAux > 0 ? B * d : 0);
  return { B, d, k, kAux, rowThreshold, auxThreshold, slices, auxError, bytes: top };
}

/** Whether a buffer laid out as `l` serves selection `s`. */
export function fits(l: SelectionLayout, s: WorkerSelection): boolean {
  return s.k <= l.k && (!s.auxK || s.auxK.k <= l.kAux);
}

/** A Float32 view of one span. */
export function view(buffer: SharedArrayBuffer, s: Span): Float32Array {
  return new Float32Array(buffer, s.offset, s.length);
}

/**
 * Up to this many candidates, topCandidates keeps them in a heap over one pass of the values;
 * more (batchtopk's k rows + 1), it selects in a copy. Measured (2026-11-30, one thread, 4,096 rows
 * of 4,096 pre-activations): 33 per row 93-107 ms against quickselect's 222-243 ms; 131,073 of
 * the whole block 197-208 ms against 189-226 ms.
 */
export const HEAP_CANDIDATES_UP_TO = 1024;

/**
 * out[o .. o + keep): the `keep` largest of src[0 .. n) in any order, -Infinity after the first n
 * when n < keep. scratch: length >= n (reordered; unused when keep <= HEAP_CANDIDATES_UP_TO).
 */
export function topCandidates(src: Float32Array, n: number, keep: number, out: Float32Array, o: number, scratch: Float32Array): void {
  if (n <= keep) {
    for (let i = 0; i < n; i++) out[o + i] = src[i]!;
    out.fill(-Infinity, o + n, o + keep);
    return;
  }
  if (keep <= HEAP_CANDIDATES_UP_TO) return heapCandidates(src, n, keep, out, o);
  const v = scratch.subarray(0, n);
  v.set(src.subarray(0, n));
  // kthLargest leaves the keep - 1 larger values before rank keep - 1.
  kthLargest(v, keep - 1);
  out.set(v.subarray(0, keep), o);
}

/**
 * The keep largest of src[0 .. n) (n > keep) as a min-heap in out[o .. o + keep): most values
 * fail the one comparison with the heap's least and cost nothing more. The kept values are the
 * same multiset as any selection's, so every threshold taken from them is the same.
 */
function heapCandidates(src: Float32Array, n: number, keep: number, out: Float32Array, o: number): void {
  for (let i = 0; i < keep; i++) out[o + i] = src[i]!;
  for (let i = (keep >> 1) - 1; i >= 0; i--) siftDown(out, o, keep, i);
  let least = out[o]!;
  for (let i = keep; i < n; i++) {
    const v = src[i]!;
    if (v > least) {
      out[o] = v;
      siftDown(out, o, keep, 0);
      least = out[o]!;
    }
  }
}

/** Restore the min-heap h[o .. o + n) below position i. */
function siftDown(h: Float32Array, o: number, n: number, i: number): void {
  const v = h[o + i]!;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && h[o + c + 1]! < h[o + c]!) c++;
    if (!(h[o + c]! < v)) break;
    h[o + i] = h[o + c]!;
    i = c;
  }
  h[o + i] = v;
}

/**
 * The selection threshold from the slices' candidates: the entry of rank `rank` (0-based,
 * descending) among parts[w][o_w .. o_w + keep_w) for every slice w, never below 0; 0 when the
 * candidates number `rank` or fewer (everything is kept). scratch: length >= the candidates.
 */
export function thresholdFromCandidates(parts: { cand: Float32Array; offset: number; keep: number }[], rank: number, scratch: Float32Array): number {
  let n = 0;
  for (const p of parts) {
    scratch.set(p.cand.subarray(p.offset, p.offset + p.keep), n);
    n += p.keep;
  }
  if (n <= rank) return 0;
  return Math.max(0, kthLargest(scratch.subarray(0, n), rank));
}
