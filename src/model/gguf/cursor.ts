/**
 * A bounds-checked little-endian reader over the head of a GGUF file. Every read checks the bytes
 * it needs against what is loaded; running past the loaded part asks for more (`NeedMoreBytes`),
 * running past the end of the file is a `TruncatedGguf` with the offset and what was being read.
 */

/** The parser ran past the bytes loaded so far; the caller loads at least `needed` bytes and retries. */
export class NeedMoreBytes {
  constructor(readonly needed: number) {}
}

/** The file ends before the structure being read does. */
export class TruncatedGguf {
  constructor(
    readonly offset: number,
    readonly what: string,
  ) {}
}

export class Cursor {
  offset = 0;
  private readonly view: DataView;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  /** `bytes` is the loaded head of a file of `fileSize` bytes. */
  constructor(
    private readonly bytes: Uint8Array,
    readonly fileSize: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes between the cursor and the end of the file. */
  get remainingInFile(): number {
    return this.fileSize - this.offset;
  }

  require(n: number, what: string): void {
    if (this.offset + n > this.fileSize) throw new TruncatedGguf(this.offset, what);
    if (this.offset + n > this.bytes.byteLength) throw new NeedMoreBytes(this.offset + n);
  }

  u8(what: string): number {
    this.require(1, what);
    return this.view.getUint8(this.offset++);
  }

  u32(what: string): number {
    this.require(4, what);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }

  /** A uint64 as a number; values above 2^53 are returned as Infinity so limit checks reject them. */
  u64(what: string): number {
    this.require(8, what);
    const v = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
  }

  i64(what: string): number | bigint {
    this.require(8, what);
    const v = this.view.getBigInt64(this.offset, true);
    this.offset += 8;
    return v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER) ? v : Number(v);
  }

  /** Read a fixed-size scalar of GGUF value type `type`. */
  scalar(type: number, what: string): number | bigint | boolean {
    switch (type) {
      case 0:
        return this.u8(what);
      case 1: {
        this.require(1, what);
        return this.view.getInt8(this.offset++);
      }
      case 2: {
        this.require(2, what);
        const v = this.view.getUint16(this.offset, true);
        this.offset += 2;
        return v;
      }
      case 3: {
        this.require(2, what);
        const v = this.view.getInt16(this.offset, true);
        this.offset += 2;
        return v;
      }
      case 4:
        return this.u32(what);
      case 5: {
        this.require(4, what);
        const v = this.view.getInt32(this.offset, true);
        this.offset += 4;
        return v;
      }
      case 6: {
        this.require(4, what);
        const v = this.view.getFloat32(this.offset, true);
        this.offset += 4;
        return v;
      }
      case 7:
        return this.u8(what) !== 0;
      case 10: {
        this.require(8, what);
        const v = this.view.getBigUint64(this.offset, true);
        this.offset += 8;
        return v > BigInt(Number.MAX_SAFE_INTEGER) ? v : Number(v);
      }
      case 11:
        return this.i64(what);
      case 12: {
        this.require(8, what);
        const v = this.view.getFloat64(this.offset, true);
        this.offset += 8;
        return v;
      }
      default:
        throw new Error(`not a scalar type ${type}`);
    }
  }

  /** A GGUF string: uint64 byte length, then UTF-8 bytes. Returns null for invalid UTF-8. */
  string(what: string): string | null {
    const n = this.u64(`${what} (length)`);
    if (n > this.remainingInFile) throw new TruncatedGguf(this.offset, `${what} (${n} bytes claimed)`);
    this.require(n, what);
    const start = this.offset;
    this.offset += n;
    try {
      return this.decoder.decode(this.bytes.subarray(start, start + n));
    } catch {
      return null;
    }
  }
}
