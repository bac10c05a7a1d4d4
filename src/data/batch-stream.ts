import { DataError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { readBlocks } from './dataset.js';
import { withPooledRows } from './pooled-rows.js';
import { RowStore } from './row-store.js';
import { isHeldOut } from './split.js';
import type { Batch, ColumnOptions, DatasetInfo, SplitSpec } from './types.js';

export interface BatchStreamOptions {
  /** Rows per yielded batch. */
  batchSize: number;
  /** Rows held in the shuffle buffer (1: no shuffling, file order). */
  shuffleBuffer: number;
  seed: number;
  /** Passes over the data; may be Infinity. */
  epochs: number;
  /** Rows held out by hash are skipped (see split.ts). */
  split?: SplitSpec;
  /** Use only the first maxRows training-side rows (file order) of each epoch. */
  maxRows?: number;
  /** Resume: produce, but do not yield, the first startBatch batches. */
  startBatch?: number;
  skipBadShards?: boolean;
  onWarning?: (message: string) => void;
  /**
   * Batches take their arrays from REUSED_STORES stores in turn instead of new ones: a batch's
   * arrays are overwritten by the batch REUSED_STORES later, so a consumer holds at most
   * REUSED_STORES - 1 batches at once, a prefetch's one ahead included (the trainer is done with
   * each batch before it asks for the next). Saves a batchSize x d allocation per batch.
   */
  reuse?: boolean;
  /**
   * Rows stay in the shuffle buffer's pool instead of being copied into each batch (implies
   * `reuse`): a batch carries `pooled` (PooledRows) and gathers x only if x is read. The pool holds
   * the buffer's rows and REUSED_STORES batches' (on a SharedArrayBuffer, so that the training
   * step's worker threads copy their own rows); an emitted row's pool row goes to the batch and
   * the incoming row takes the pool row the batch REUSED_STORES before held. Same rows, same order.
   */
  pooled?: boolean;
}

/** Output stores a reusing stream cycles through (BatchStreamOptions.reuse). */
export const REUSED_STORES = 3;

export interface StreamPosition {
  /** Epoch (0-based) in which the last completed batch ended. */
  epoch: number;
  /** Batches completed so far, skipped ones included: resume with startBatch = batch. */
  batch: number;
  rowsConsumed: number;
}

/**
 * Fixed-size training batches from a dataset, shuffled through a buffer: each incoming row
 * replaces a uniformly chosen buffered row, which is emitted; at the end of every epoch the
 * buffer is drained in random order, so each epoch emits each training row exactly once.
 * Epoch e draws from Rng(seed, e): the same dataset, options and seed give the same batch
 * sequence, and startBatch = k reproduces batches k, k+1, ... exactly.
 * Batches run across epoch boundaries; the last partial batch of the last epoch is dropped.
 * Memory: the buffer and one batch (REUSED_STORES with `reuse`; with `pooled` the buffer holds
 * theirs, and a batch's x only once read), plus one decoded record batch.
 */
export class BatchStream implements AsyncIterable<Batch> {
  private pos: StreamPosition = { epoch: 0, batch: 0, rowsConsumed: 0 };

  constructor(
    private readonly ds: DatasetInfo,
    private readonly cols: ColumnOptions,
    private readonly opts: BatchStreamOptions,
  ) {
    if (!(opts.batchSize >= 1) || !Number.isInteger(opts.batchSize)) throw new DataError(`batch size must be a positive integer, got ${opts.batchSize}.`);
    if (!(opts.shuffleBuffer >= 1)) throw new DataError(`shuffle buffer must hold at least 1 row, got ${opts.shuffleBuffer}.`);
  }

  position(): StreamPosition {
    return { ...this.pos };
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    const { ds, opts } = this;
    const d = ds.d;
    const capacity = Math.floor(opts.shuffleBuffer);
    const B = opts.batchSize;
    const pooled = opts.pooled === true;
    const buf = pooled ? new RowStore(capacity + REUSED_STORES * B, d, 'shared') : new RowStore(capacity, d);
    // pooled: the pool row each buffer slot holds; each store's pool rows (at first the spare ones).
    const slotRow = pooled ? Int32Array.from({ length: capacity }, (_, i) => i) : new Int32Array(0);
    const indexes: Int32Array[] = [];
    const gathered: Float32Array[] = [];
    const start = opts.startBatch ?? 0;
    // With reuse, each batch yielded takes the next of the stores in turn (skipped batches take none).
    const stores: RowStore[] = [];
    let handedOut = 0;
    let outNo = 0;
    const nextStore = (): RowStore => {
      if (!opts.reuse && !pooled) return new RowStore(B, d);
      outNo = handedOut++ % REUSED_STORES;
      indexes[outNo] ??= Int32Array.from({ length: B }, (_, i) => capacity + outNo * B + i);
      return (stores[outNo] ??= new RowStore(B, d, pooled ? 'none' : 'own'));
    };
    const pooledBatch = (store: RowStore, no: number): Batch => {
      const base = store.toBatch(B, buf.has);
      return withPooledRows(base, { pool: buf.x, index: indexes[no]! }, () => (gathered[no] ??= new Float32Array(B * d)));
    };
    let out = nextStore();
    let fill = 0;
    let batchIndex = 0;
    let epoch = 0;
    this.pos = { epoch: 0, batch: 0, rowsConsumed: 0 };

    // Emit buffer slot j into the current batch; returns the batch when it is complete.
    const emit = (j: number): Batch | null => {
      if (pooled) {
        // The batch takes slot j's pool row; the slot takes the one this batch's store held.
        const index = indexes[outNo]!;
        const r = slotRow[j]!;
        slotRow[j] = index[fill]!;
        index[fill] = r;
        if (batchIndex >= start) buf.copyIdsTo(r, out, fill);
      } else if (batchIndex >= start) buf.copyTo(j, out, fill);
      fill++;
      if (fill < B) return null;
      const done = batchIndex >= start ? (pooled ? pooledBatch(out, outNo) : out.toBatch(B, buf.has)) : null;
      batchIndex++;
      fill = 0;
      this.pos = { epoch, batch: batchIndex, rowsConsumed: batchIndex * B };
      if (done) out = nextStore();
      return done;
    };

    for (epoch = 0; epoch < opts.epochs; epoch++) {
      const rng = new Rng(`batch-stream:${opts.seed}:${epoch}`);
      let count = 0;
      let taken = 0;
      // Each block's rows are copied into the buffer before the next block is read: one read buffer serves them all.
      const blocks = readBlocks(ds, this.cols, { skipBadShards: opts.skipBadShards, onWarning: opts.onWarning, reuseBuffer: true });
      outer: for await (const b of blocks) {
        buf.noteBlock(b.meta);
        for (let i = 0; i < b.rows; i++) {
          if (opts.split && isHeldOut(b.rowIds[i]!, opts.split)) continue;
          if (opts.maxRows !== undefined && taken >= opts.maxRows) break outer;
          taken++;
          if (count < capacity) {
            buf.put(pooled ? slotRow[count]! : count, b, i);
            count++;
            continue;
          }
          const j = rng.int(capacity);
          const ready = emit(j);
          buf.put(pooled ? slotRow[j]! : j, b, i);
          if (ready) yield ready;
        }
      }
      if (taken === 0) {
        throw new DataError('no training rows: every row is held out or the data is empty.', 'Lower data.evalFraction or give more data.');
      }
      while (count > 0) {
        const j = rng.int(count);
        const ready = emit(j);
        count--;
        if (pooled) {
          const r = slotRow[j]!;
          slotRow[j] = slotRow[count]!;
          slotRow[count] = r;
        } else buf.copyTo(count, buf, j);
        if (ready) yield ready;
      }
    }
  }
}
