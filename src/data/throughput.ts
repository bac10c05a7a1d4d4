import { BatchStream } from './batch-stream.js';
import { scanDataset } from './dataset.js';
import type { ColumnOptions } from './types.js';

export interface ThroughputOptions {
  cols?: ColumnOptions;
  batchSize?: number;
  shuffleBuffer?: number;
  seed?: number;
  /** Stop after this many rows (default: one full epoch). */
  maxRows?: number;
}

export interface Throughput {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}

/** The column names `sae harvest` writes (and the shipped activation files use). */
export const DEFAULT_COLS: ColumnOptions = { column: 'activation', columns: { tokenId: 'token_id', token: 'token', docId: 'doc_id', pos: 'pos' } };

/** Rows per second of the training data path (Arrow -> shuffled Float32 batches), one epoch. */
export async function measureDataThroughput(patterns: string[], opts: ThroughputOptions = {}): Promise<Throughput> {
  const cols = opts.cols ?? DEFAULT_COLS;
  const t0 = performance.now();
  const ds = await scanDataset(patterns, cols);
  const stream = new BatchStream(ds, cols, {
    batchSize: opts.batchSize ?? 4096,
    shuffleBuffer: opts.shuffleBuffer ?? 65536,
    seed: opts.seed ?? 0,
    epochs: 1,
    ...(opts.maxRows !== undefined ? { maxRows: opts.maxRows } : {}),
  });
  let rows = 0;
  for await (const b of stream) rows += b.rows;
  const seconds = (performance.now() - t0) / 1000;
  return { rows, seconds, rowsPerSecond: rows / seconds };
}
