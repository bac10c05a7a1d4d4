import { rowHash } from '../data/split.js';
import { windows, type TokenDocument, type TokenWindow } from './documents.js';

export type HarvestSplit = 'train' | 'eval';

/** Fixed seed of the document split: the same document goes to the same split on every run. */
const EVAL_SPLIT_SEED = 0x5ae0e7a1;

/** Whole documents are held out: document d is in `eval` iff hash(doc_id, seed) < fraction. */
export function splitOf(docId: number, evalFraction: number): HarvestSplit {
  return evalFraction > 0 && rowHash(docId, EVAL_SPLIT_SEED) < evalFraction ? 'eval' : 'train';
}

/** One window to run, the split its document belongs to, and how many of its rows to write. */
export interface HarvestJob {
  window: TokenWindow;
  split: HarvestSplit;
  rows: number;
}

export interface SplitCounts {
  documents: number;
  rows: number;
}

export interface HarvestPlan {
  /** Every train window, then every eval window (each in document order): one stream, so one resume point. */
  jobs: HarvestJob[];
  totalRows: number;
  counts: Record<HarvestSplit, SplitCounts>;
}

/**
 * The windows a harvest runs, in the order it writes them. `--max-tokens` takes documents in
 * file order until the budget is spent (the last one cut), before they are sorted into splits.
 */
export function planHarvest(docs: TokenDocument[], context: number, bos: number, rowsOf: (w: TokenWindow) => number, evalFraction: number, maxTokens?: number): HarvestPlan {
  const bySplit: Record<HarvestSplit, HarvestJob[]> = { train: [], eval: [] };
  const docIds: Record<HarvestSplit, Set<number>> = { train: new Set(), eval: new Set() };
  let budget = maxTokens ?? Infinity;
  for (const w of windows(docs, context, bos)) {
    if (budget <= 0) break;
    const rows = Math.min(rowsOf(w), budget);
    budget -= rows;
    const split = splitOf(w.docId, evalFraction);
    bySplit[split].push({ window: w, split, rows });
    if (rows > 0) docIds[split].add(w.docId);
  }
  const rowsIn = (s: HarvestSplit): number => bySplit[s].reduce((n, j) => n + j.rows, 0);
  const counts = {
    train: { documents: docIds.train.size, rows: rowsIn('train') },
    eval: { documents: docIds.eval.size, rows: rowsIn('eval') },
  };
  return { jobs: [...bySplit.train, ...bySplit.eval], totalRows: counts.train.rows + counts.eval.rows, counts };
}
