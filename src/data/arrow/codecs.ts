import { compressionRegistry, CompressionType } from 'apache-arrow';
import { decompress as zstdDecompress } from 'fzstd';
import lz4 from 'lz4js';
import { DataError } from '../../errors.js';

/**
 * Body-compression codecs for Arrow IPC (Message.fbs BodyCompression: LZ4_FRAME, ZSTD).
 * apache-arrow ships none; we register decoders from `lz4js` and `fzstd`. Encoders are only
 * needed to write compressed files (tests), so callers pass them in.
 */

export type Encode = (data: Uint8Array) => Uint8Array;

let registered = false;
const encoders: { lz4?: Encode; zstd?: Encode } = {};

/** Register the decoders (idempotent) and, optionally, encoders for writing. */
export function registerCodecs(enc?: { lz4?: Encode; zstd?: Encode }): void {
  if (registered && !enc) return;
  if (enc?.lz4) encoders.lz4 = enc.lz4;
  if (enc?.zstd) encoders.zstd = enc.zstd;
  compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: decodeLz4Frame, ...(encoders.lz4 ? { encode: encoders.lz4 } : {}) });
  compressionRegistry.set(CompressionType.ZSTD, { decode: decodeZstd, ...(encoders.zstd ? { encode: encoders.zstd } : {}) });
  registered = true;
}

/** An LZ4 frame encoder (lz4js), for writing compressed files. */
export const encodeLz4Frame: Encode = (data) => lz4.compress(data);

const LZ4_MAGIC = 0x184d2204;

/** apache-arrow views decoded buffers as typed arrays in place: they must start 8-byte aligned. */
function aligned(out: Uint8Array): Uint8Array {
  return out.byteOffset % 8 === 0 ? out : out.slice();
}

/**
 * lz4js trusts every block size it reads (a corrupt size makes it copy up to 2 GiB of
 * `undefined`), so walk the frame (lz4 frame format spec, section 2) and check each block
 * lies inside the input before decoding.
 */
export function decodeLz4Frame(data: Uint8Array): Uint8Array {
  const bad = (what: string) => new DataError(`corrupt LZ4 frame in a record batch body: ${what}.`, 'The file is corrupt; re-export it.');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 7 || view.getUint32(0, true) !== LZ4_MAGIC) throw bad('bad magic number');
  const flg = data[4]!;
  if ((flg & 0xc0) !== 0x40) throw bad('unsupported frame version');
  if (flg & 0x01) throw bad('dictionary ids are not supported');
  let p = 6 + (flg & 0x08 ? 8 : 0) + 1;
  const blockChecksum = (flg & 0x10) !== 0;
  for (;;) {
    if (p + 4 > data.length) throw bad('truncated block header');
    const raw = view.getUint32(p, true);
    p += 4;
    if (raw === 0) break;
    const size = raw & 0x7fffffff;
    if (size > 4 << 20 || p + size > data.length) throw bad(`block of ${size} bytes overruns the input`);
    p += size + (blockChecksum ? 4 : 0);
  }
  try {
    return aligned(lz4.decompress(data));
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err));
  }
}

export function decodeZstd(data: Uint8Array): Uint8Array {
  try {
    return aligned(zstdDecompress(data));
  } catch (err) {
    throw new DataError(
      `corrupt ZSTD data in a record batch body: ${err instanceof Error ? err.message : String(err)}.`,
      'The file is corrupt; re-export it.',
    );
  }
}
