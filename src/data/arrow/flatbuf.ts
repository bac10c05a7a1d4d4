/**
 * A bounds-checked reader for the FlatBuffers wire format (tables, vectors, strings, unions),
 * just enough to read Arrow IPC metadata. The flatbuffers runtime that apache-arrow uses does
 * not check offsets or vector lengths, so a hostile file can make it read garbage or iterate a
 * vector of 2^32 declared elements; every access here is checked against the buffer and throws
 * FlatbufferError instead.
 */
export class FlatbufferError extends Error {}

/** A table located at `pos` with its vtable. */
export interface FbTable {
  pos: number;
  vtable: number;
  vtableSize: number;
  tableSize: number;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class FbReader {
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private check(pos: number, size: number, what: string): void {
    if (!Number.isInteger(pos) || pos < 0 || pos + size > this.bytes.length) {
      throw new FlatbufferError(`${what} at byte ${pos} (+${size}) lies outside the ${this.bytes.length}-byte metadata`);
    }
  }

  u8(pos: number): number {
    this.check(pos, 1, 'byte');
    return this.view.getUint8(pos);
  }
  i16(pos: number): number {
    this.check(pos, 2, 'int16');
    return this.view.getInt16(pos, true);
  }
  u16(pos: number): number {
    this.check(pos, 2, 'uint16');
    return this.view.getUint16(pos, true);
  }
  i32(pos: number): number {
    this.check(pos, 4, 'int32');
    return this.view.getInt32(pos, true);
  }
  u32(pos: number): number {
    this.check(pos, 4, 'uint32');
    return this.view.getUint32(pos, true);
  }
  /** int64 as a number; throws if it is beyond 2^53. */
  i64(pos: number): number {
    this.check(pos, 8, 'int64');
    const v = this.view.getBigInt64(pos, true);
    if (v > BigInt(MAX_SAFE) || v < -BigInt(MAX_SAFE)) throw new FlatbufferError(`int64 ${v} at byte ${pos} is too large`);
    return Number(v);
  }

  /** The root table. */
  root(): FbTable {
    return this.table(this.u32(0));
  }

  table(pos: number): FbTable {
    this.check(pos, 4, 'table');
    const vtable = pos - this.i32(pos);
    const vtableSize = this.u16(vtable);
    const tableSize = this.u16(vtable + 2);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw new FlatbufferError(`bad vtable size ${vtableSize} at byte ${vtable}`);
    this.check(vtable, vtableSize, 'vtable');
    this.check(pos, tableSize, 'table body');
    return { pos, vtable, vtableSize, tableSize };
  }

  /** Position of field `index` in table `t`, or 0 if absent. */
  field(t: FbTable, index: number, size: number): number {
    const o = 4 + 2 * index;
    if (o + 2 > t.vtableSize) return 0;
    const off = this.u16(t.vtable + o);
    if (off === 0) return 0;
    if (off + size > t.tableSize) throw new FlatbufferError(`field ${index} overruns its table at byte ${t.pos}`);
    return t.pos + off;
  }

  scalarI16(t: FbTable, index: number, dflt = 0): number {
    const p = this.field(t, index, 2);
    return p ? this.i16(p) : dflt;
  }
  scalarU8(t: FbTable, index: number, dflt = 0): number {
    const p = this.field(t, index, 1);
    return p ? this.u8(p) : dflt;
  }
  scalarI32(t: FbTable, index: number, dflt = 0): number {
    const p = this.field(t, index, 4);
    return p ? this.i32(p) : dflt;
  }
  scalarI64(t: FbTable, index: number, dflt = 0): number {
    const p = this.field(t, index, 8);
    return p ? this.i64(p) : dflt;
  }

  /** Follow an offset field to its target position, or 0 if absent. */
  private target(t: FbTable, index: number): number {
    const p = this.field(t, index, 4);
    if (!p) return 0;
    const target = p + this.u32(p);
    this.check(target, 4, 'offset target');
    return target;
  }

  /** A sub-table, or null if absent. */
  subTable(t: FbTable, index: number): FbTable | null {
    const p = this.target(t, index);
    return p ? this.table(p) : null;
  }

  /** A vector of `elemSize`-byte elements: start of element 0 and count (0/0 if absent). */
  vector(t: FbTable, index: number, elemSize: number): { start: number; length: number } {
    const p = this.target(t, index);
    if (!p) return { start: 0, length: 0 };
    const length = this.u32(p);
    const start = p + 4;
    if (length * elemSize > this.bytes.length - start) {
      throw new FlatbufferError(`vector of ${length} elements at byte ${p} is longer than the metadata`);
    }
    return { start, length };
  }

  /** Element `i` of a vector of tables. */
  tableAt(start: number, i: number): FbTable {
    const p = start + 4 * i;
    return this.table(p + this.u32(p));
  }

  string(t: FbTable, index: number): string | null {
    const v = this.vector(t, index, 1);
    if (!v.start) return null;
    return new TextDecoder('utf-8', { fatal: false }).decode(this.bytes.subarray(v.start, v.start + v.length));
  }
}
