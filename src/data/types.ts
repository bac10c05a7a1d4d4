/**
 * The contract between the data layer and everything else. Data code knows nothing of SAEs;
 * the trainer only sees an async iterable of Batch.
 */

/** Optional per-row metadata carried from the dump (present only if the column exists). */
export interface RowMeta {
  tokenId?: Int32Array;
  docId?: Int32Array;
  pos?: Int32Array;
  token?: string[];
}

/**
 * Rows that stay where a shuffle buffer keeps them (BatchStreamOptions.pooled): row r of the batch
 * is row index[r] of the pool. The pool is on a SharedArrayBuffer, so worker threads can copy the
 * rows themselves.
 */
export interface PooledRows {
  /** [pool rows, d], row-major float32. */
  pool: Float32Array;
  /** [rows]: each batch row's row of the pool. */
  index: Int32Array;
}

/** A block of activation rows. */
export interface Batch {
  /** x [rows, d], row-major float32 (with `pooled`: copied from the pool at its first read). */
  x: Float32Array;
  rows: number;
  d: number;
  /** Global row id of each row: its index in the dataset in file order across shards. */
  rowIds: Float64Array;
  meta: RowMeta;
  /** Where the rows are, when x has not been copied out of a pool (read x for them in order). */
  pooled?: PooledRows;
}

/** What the data layer learned about one input file. */
export interface ShardInfo {
  path: string;
  format: 'file' | 'stream';
  /** Body compression codec, if any ('lz4_frame' | 'zstd'), from the first record batch. */
  compression: string | null;
  rows: number;
  recordBatches: number;
  /** The activation column's Arrow type as text, e.g. FixedSizeList[64]<Float32>. */
  columnType: string;
  /** Activation width d. */
  d: number;
  /** 'rows' (one token per row) or 'sequences' ([positions, d] per row, flattened). */
  layout: 'rows' | 'sequences';
  /** Schema-level key/value metadata (model, layer, hook, ...). */
  metadata: Record<string, string>;
  /** Names and types of all columns. */
  fields: { name: string; type: string }[];
}

/** Options naming the columns to read. */
export interface ColumnOptions {
  column: string;
  columns: { tokenId: string; token: string; docId: string; pos: string };
  /**
   * false: read the activations only, no per-row metadata (training batches, which never read
   * it: decoding the token text of every row, and keeping it in the shuffle buffer, cost the
   * stories260k run ~10% of its main thread). Default true.
   */
  meta?: boolean;
}

/** Every input shard of a dataset, validated together. */
export interface DatasetInfo {
  shards: ShardInfo[];
  /** Activation width shared by all shards. */
  d: number;
  /** Activation rows over all shards (tokens, for the sequences layout). */
  rows: number;
  /** Schema metadata of the first shard (model, layer, hook, ...). */
  metadata: Record<string, string>;
}

/** Held-out split by rows: row r is held out iff hash(r, seed) < fraction. */
export interface SplitSpec {
  fraction: number;
  seed: number;
}
