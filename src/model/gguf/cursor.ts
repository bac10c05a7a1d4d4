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

  u32(what: string): number {
    return this.read(4, what, (d, at) => d.getUint32(at, true));
  }

  /** A uint64 as a number; values above 2^53 are returned as Infinity so limit checks reject them. */
  u64(what: string): number {
    const v = this.read(8, what, (d, at) => d.getBigUint64(at, true));
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
  }

  private read<T>(n: number, what: string, get: (view: DataView, at: number) => T): T {
    this.require(n, what);
    const v = get(this.view, this.offset);
    this.offset += n;
    return v;
  }

  /** Read a fixed-size scalar of GGUF value type `type`. */
  scalar(type: number, what: string): number | bigint | boolean {
    const safe = (v: bigint): number | bigint => (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER) ? v : Number(v));
    switch (type) {
      case 0:
        return this.read(1, what, (d, at) => d.getUint8(at));
      case 1:
        return this.read(1, what, (d, at) => d.getInt8(at));
      case 2:
        return this.read(2, what, (d, at) => d.getUint16(at, true));
      case 3:
        return this.read(2, what, (d, at) => d.getInt16(at, true));
      case 4:
        return this.read(4, what, (d, at) => d.getUint32(at, true));
      case 5:
        return this.read(4, what, (d, at) => d.getInt32(at, true));
      case 6:
        return this.read(4, what, (d, at) => d.getFloat32(at, true));
      case 7:
        return this.read(1, what, (d, at) => d.getUint8(at) !== 0);
      case 10:
        return this.read(8, what, (d, at) => safe(d.getBigUint64(at, true)));
      case 11:
        return this.read(8, what, (d, at) => safe(d.getBigInt64(at, true)));
      case 12:
        return this.read(8, what, (d, at) => d.getFloat64(at, true));
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
