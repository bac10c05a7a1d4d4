import path from 'node:path';
import { writeArrowFile } from '../io/arrow-write.js';

/** Shard file name: zero-padded so a folder listing is in write order. */
export function shardName(index: number): string {
  return `shard-${String(index).padStart(5, '0')}.arrow`;
}

/**
 * Rows of one hook's activations collected up to `shardRows`, then written as one Arrow file
 * (activation FixedSizeList<Float32>[d], token_id, token, doc_id, pos; schema metadata), atomically.
 * Memory: one shard.
 */
export class ShardBuffer {
  private readonly acts: Float32Array;
  private readonly tokenIds: Int32Array;
  private readonly docIds: Int32Array;
  private readonly pos: Int32Array;
  private rows = 0;

  constructor(
    readonly dir: string,
    readonly d: number,
    readonly shardRows: number,
    private readonly metadata: Record<string, string>,
    private readonly piece: (id: number) => string,
  ) {
    this.acts = new Float32Array(shardRows * d);
    this.tokenIds = new Int32Array(shardRows);
    this.docIds = new Int32Array(shardRows);
    this.pos = new Int32Array(shardRows);
  }

  get full(): boolean {
    return this.rows === this.shardRows;
  }

  get length(): number {
    return this.rows;
  }

  /** Append one row; the caller flushes when `full`. */
  push(act: Float32Array, actOffset: number, tokenId: number, docId: number, pos: number): void {
    this.acts.set(act.subarray(actOffset, actOffset + this.d), this.rows * this.d);
    this.tokenIds[this.rows] = tokenId;
    this.docIds[this.rows] = docId;
    this.pos[this.rows] = pos;
    this.rows++;
  }

  /** Write the rows held as shard `index` and empty the buffer; returns the file. */
  flush(index: number): string {
    const n = this.rows;
    const file = path.join(this.dir, shardName(index));
    const ids = this.tokenIds.slice(0, n);
    writeArrowFile(
      file,
      [
        { name: 'activation', kind: 'vector', width: this.d, values: this.acts.slice(0, n * this.d) },
        { name: 'token_id', kind: 'int32', values: ids },
        { name: 'token', kind: 'utf8', values: Array.from(ids, this.piece) },
        { name: 'doc_id', kind: 'int32', values: this.docIds.slice(0, n) },
        { name: 'pos', kind: 'int32', values: this.pos.slice(0, n) },
      ],
      this.metadata,
    );
    this.rows = 0;
    return file;
  }
}
