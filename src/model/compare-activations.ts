import { DataError } from '../errors.js';
import { readBlocks, scanDataset } from '../data/dataset.js';
import { DEFAULT_COLS } from '../data/throughput.js';
import type { Batch } from '../data/types.js';

/** How two activation dumps of the same tokens agree, row by row. */
export interface ActivationComparison {
  /** Rows present in both, matched by (doc_id, pos). */
  rows: number;
  /** Rows of one input with no partner in the other. */
  onlyInA: number;
  onlyInB: number;
  maxAbsDiff: number;
  /** Where the largest difference is. */
  at: { docId: number; pos: number } | null;
  meanAbsDiff: number;
}

const key = (doc: number, pos: number): number => doc * 2 ** 24 + pos;

async function* rowsOf(patterns: string[], what: string): AsyncGenerator<Batch & { docId: Int32Array; pos: Int32Array }> {
  const ds = await scanDataset(patterns, DEFAULT_COLS);
  for await (const b of readBlocks(ds, DEFAULT_COLS)) {
    if (!b.meta.docId || !b.meta.pos) throw new DataError(`${what}: has no doc_id and pos columns to match rows by.`, 'Compare activation files written by `sae harvest` or the shipped dumps.');
    yield { ...b, docId: b.meta.docId, pos: b.meta.pos };
  }
}

/**
 * Compare the activations of `a` and `b` (Arrow files, folders or globs with `activation`,
 * `doc_id`, `pos` columns), matching rows by (doc_id, pos): e.g. a harvest against the shipped dump
 * it should reproduce. Holds `b` in memory; a (doc_id, pos) seen twice is an error (a harvest
 * whose documents were cut into windows numbers positions per window).
 */
export async function compareActivations(a: string[], b: string[]): Promise<ActivationComparison> {
  const ref = new Map<number, number>();
  const chunks: Float32Array[] = [];
  let d = 0;
  let refRows = 0;
  for await (const blk of rowsOf(b, b.join(', '))) {
    d = blk.d;
    chunks.push(blk.x);
    for (let r = 0; r < blk.rows; r++) {
      const k = key(blk.docId[r]!, blk.pos[r]!);
      if (ref.has(k)) throw new DataError(`${b.join(', ')}: doc_id ${blk.docId[r]} pos ${blk.pos[r]} appears twice.`, 'Each (doc_id, pos) must name one row.');
      ref.set(k, refRows + r);
    }
    refRows += blk.rows;
  }
  const refX = new Float32Array(refRows * d);
  let at = 0;
  for (const c of chunks) {
    refX.set(c, at);
    at += c.length;
  }
  const seen = new Set<number>();
  const out: ActivationComparison = { rows: 0, onlyInA: 0, onlyInB: 0, maxAbsDiff: 0, at: null, meanAbsDiff: 0 };
  let sum = 0;
  for await (const blk of rowsOf(a, a.join(', '))) {
    if (blk.d !== d) throw new DataError(`${a.join(', ')}: activation width ${blk.d}, but ${b.join(', ')} has width ${d}.`, 'Compare dumps of the same model and hook.');
    for (let r = 0; r < blk.rows; r++) {
      const k = key(blk.docId[r]!, blk.pos[r]!);
      if (seen.has(k)) {
        throw new DataError(`${a.join(', ')}: doc_id ${blk.docId[r]} pos ${blk.pos[r]} appears twice.`, 'Documents longer than the harvest context were cut into windows; harvest with a --context at least as long as the longest document.');
      }
      seen.add(k);
      const j = ref.get(k);
      if (j === undefined) {
        out.onlyInA++;
        continue;
      }
      out.rows++;
      for (let c = 0; c < d; c++) {
        const diff = Math.abs(blk.x[r * d + c]! - refX[j * d + c]!);
        sum += diff;
        if (out.at === null || diff > out.maxAbsDiff) {
          out.maxAbsDiff = diff;
          out.at = { docId: blk.docId[r]!, pos: blk.pos[r]! };
        }
      }
    }
  }
  out.onlyInB = refRows - out.rows;
  out.meanAbsDiff = out.rows > 0 ? sum / (out.rows * d) : 0;
  return out;
}

/** One line: rows matched, the largest and mean absolute difference and where the largest is. */
export function formatComparison(c: ActivationComparison & { with: string }): string {
  const where = c.at ? ` (doc_id ${c.at.docId}, pos ${c.at.pos})` : '';
  const unmatched = c.onlyInA || c.onlyInB ? `; unmatched rows: ${c.onlyInA} here, ${c.onlyInB} there` : '';
  return `compared with ${c.with}: ${c.rows} rows matched by (doc_id, pos), largest absolute difference ${c.maxAbsDiff.toExponential(2)}${where}, mean ${c.meanAbsDiff.toExponential(2)}${unmatched}`;
}
