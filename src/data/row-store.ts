import { copyRow } from '../util/copy-row.js';
import type { Batch, RowMeta } from './types.js';

/**
 * Fixed-capacity storage of activation rows with their ids and metadata, addressed by slot:
 * the shuffle buffer, the reservoir sample and output batches are all RowStores. A metadata
 * field is kept only while every block seen so far carried it.
 */
export class RowStore {
  readonly x: Float32Array;
  readonly rowIds: Float64Array;
  readonly tokenId: Int32Array;
  readonly docId: Int32Array;
  readonly pos: Int32Array;
  readonly token: string[];
  has = { tokenId: true, docId: true, pos: true, token: true };

  /**
   * `rows`: 'own' (default), 'shared' (x on a SharedArrayBuffer, for worker threads to read) or
   * 'none' (ids and metadata only; x empty: a batch whose rows stay in a pool).
   */
  constructor(
    readonly capacity: number,
    readonly d: number,
    rows: 'own' | 'shared' | 'none' = 'own',
  ) {
    const n = rows === 'none' ? 0 : capacity * d;
    this.x = rows === 'shared' ? new Float32Array(new SharedArrayBuffer(4 * n)) : new Float32Array(n);
    this.rowIds = new Float64Array(capacity);
    this.tokenId = new Int32Array(capacity);
    this.docId = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
    this.token = new Array<string>(capacity).fill('');
  }

  /** Record which metadata fields a source block carries. */
  noteBlock(meta: RowMeta): void {
    this.has.tokenId &&= meta.tokenId !== undefined;
    this.has.docId &&= meta.docId !== undefined;
    this.has.pos &&= meta.pos !== undefined;
    this.has.token &&= meta.token !== undefined;
  }

  /** Copy row i of `b` into `slot`. */
  put(slot: number, b: Batch, i: number): void {
    copyRow(b.x, i * this.d, this.x, slot * this.d, this.d);
    this.rowIds[slot] = b.rowIds[i]!;
    const m = b.meta;
    if (m.tokenId) this.tokenId[slot] = m.tokenId[i]!;
    if (m.docId) this.docId[slot] = m.docId[i]!;
    if (m.pos) this.pos[slot] = m.pos[i]!;
    if (m.token) this.token[slot] = m.token[i]!;
  }

  /**
   * Copy `slot` of this store into `dstSlot` of `dst` (may be this store): x, the row id and the
   * metadata fields this store has (the others hold nothing a batch carries).
   */
  copyTo(slot: number, dst: RowStore, dstSlot: number): void {
    copyRow(this.x, slot * this.d, dst.x, dstSlot * this.d, this.d);
    this.copyIdsTo(slot, dst, dstSlot);
  }

  /** copyTo without x: the row id and metadata only. */
  copyIdsTo(slot: number, dst: RowStore, dstSlot: number): void {
    dst.rowIds[dstSlot] = this.rowIds[slot]!;
    const has = this.has;
    if (has.tokenId) dst.tokenId[dstSlot] = this.tokenId[slot]!;
    if (has.docId) dst.docId[dstSlot] = this.docId[slot]!;
    if (has.pos) dst.pos[dstSlot] = this.pos[slot]!;
    if (has.token) dst.token[dstSlot] = this.token[slot]!;
  }

  /** The first `rows` slots as a Batch (views when full, copies otherwise); `has` picks metadata. */
  toBatch(rows: number, has = this.has): Batch {
    const full = rows === this.capacity;
    const cut = <T extends Float32Array | Float64Array | Int32Array>(a: T, n: number): T => (full ? a : (a.slice(0, n) as T));
    const meta: RowMeta = {};
    if (has.tokenId) meta.tokenId = cut(this.tokenId, rows);
    if (has.docId) meta.docId = cut(this.docId, rows);
    if (has.pos) meta.pos = cut(this.pos, rows);
    if (has.token) meta.token = full ? this.token : this.token.slice(0, rows);
    return { x: cut(this.x, rows * this.d), rows, d: this.d, rowIds: cut(this.rowIds, rows), meta };
  }
}
