import fs from 'node:fs/promises';
import { Message, MessageHeader } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { DataError, describeError } from '../../errors.js';
import {
  decodeFooter,
  decodeMessage,
  FlatbufferError,
  HEADER_DICTIONARY,
  HEADER_RECORD_BATCH,
  HEADER_SCHEMA,
  type MessageMeta,
  type SchemaMeta,
} from './meta.js';

/**
 * Framing of one Arrow IPC file or stream, done by us with every offset and length checked
 * against the file size: the format is detected from the bytes (`ARROW1` magic or a message
 * prefix), record batches are located through the footer (file format) or by walking the
 * messages (stream format), and each message is read on its own, so memory is one message.
 * apache-arrow only ever sees single, already-validated messages (see decode-batch.ts); it is
 * never handed a footer, which is how fuzz-file/...6240547580936192 sends its reader into an
 * endless loop (a footer block pointing at the schema message resets its batch counter).
 */

const MAGIC = Buffer.from('ARROW1');
/** Largest metadata flatbuffer we accept; real ones are kilobytes. */
const MAX_METADATA = 64 << 20;

/** One message located in the file. */
export interface MessageRef {
  offset: number;
  /** Bytes of prefix + metadata (padding included). */
  metaSpan: number;
  bodyLength: number;
  meta: MessageMeta;
}

export class IpcFile {
  private constructor(
    readonly path: string,
    private readonly handle: fs.FileHandle,
    readonly size: number,
    readonly format: 'file' | 'stream',
    /** The schema as a complete IPC message (prefix included), for apache-arrow. */
    readonly schemaBytes: Uint8Array,
    /** Where the stream's first message after the schema starts (stream format). */
    private readonly streamStart: number,
    readonly schema: SchemaMeta,
    /** File format: the footer's blocks, checked to lie inside the file. */
    private readonly footerBlocks: { dictionaries: MessageRef[]; recordBatches: { offset: number; bodyLength: number }[] } | null,
  ) {}

  static async open(path: string): Promise<IpcFile> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new DataError(`${path}: cannot open (${code ?? String(err)}).`, 'Check that the path exists and is readable.');
    }
    try {
      const size = (await handle.stat()).size;
      const head = await readAt(handle, 0, Math.min(8, size));
      const isFile = size >= 6 && Buffer.from(head.subarray(0, 6)).equals(MAGIC);
      const probe = new IpcFileProbe(path, handle, size);
      if (isFile) {
        const footer = await probe.footer();
        return new IpcFile(path, handle, size, 'file', footer.schemaBytes, 0, footer.schema, footer.blocks);
      }
      if (!looksLikeMessage(head, size)) {
        const hex = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
        const gz = head[0] === 0x1f && head[1] === 0x8b ? ' (gzip data)' : '';
        throw probe.bad(`it starts with neither the ARROW1 magic nor an IPC message (first bytes ${hex || 'none'}${gz})`, 0);
      }
      const first = await probe.message(0);
      if (!first || first.meta.headerType !== HEADER_SCHEMA || !first.meta.schema) {
        throw probe.bad('does not start with an Arrow schema message', 0);
      }
      const schemaBytes = await readAt(handle, 0, first.metaSpan + first.bodyLength);
      return new IpcFile(path, handle, size, 'stream', schemaBytes, first.metaSpan + first.bodyLength, first.meta.schema, null);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /**
   * Dictionary and record-batch messages in file order (metadata only; bodies are read with
   * readMessage). A stream that ends without an end-of-stream marker is accepted (pyarrow
   * writes such streams when a writer is not closed) only if it ends exactly at a message
   * boundary.
   */
  async *messages(): AsyncGenerator<MessageRef> {
    const probe = new IpcFileProbe(this.path, this.handle, this.size);
    if (this.footerBlocks) {
      for (const d of this.footerBlocks.dictionaries) yield d;
      for (const [i, b] of this.footerBlocks.recordBatches.entries()) {
        const m = await probe.message(b.offset);
        if (!m || m.meta.headerType !== HEADER_RECORD_BATCH || !m.meta.recordBatch || m.bodyLength !== b.bodyLength) {
          throw probe.bad(`footer block ${i} does not point at a record batch`, b.offset);
        }
        yield m;
      }
      return;
    }
    let offset = this.streamStart;
    while (offset < this.size) {
      const m = await probe.message(offset);
      if (!m) return;
      if (m.meta.headerType === HEADER_SCHEMA) throw probe.bad('has a second schema message', offset);
      if (m.meta.headerType !== HEADER_RECORD_BATCH && m.meta.headerType !== HEADER_DICTIONARY) {
        throw probe.bad(`has an unsupported message type ${m.meta.headerType}`, offset);
      }
      if (!m.meta.recordBatch) throw probe.bad('has a batch message without a record batch header', offset);
      yield m;
      offset = m.offset + m.metaSpan + m.bodyLength;
    }
  }

  /**
   * The whole message (prefix, metadata, body) as one 8-byte-aligned buffer: a fresh one, or the
   * start of `into` when it is large enough (then overwritten by the next read into it).
   */
  async readMessage(m: MessageRef, into?: Uint8Array): Promise<Uint8Array> {
    const length = m.metaSpan + m.bodyLength;
    return readAt(this.handle, m.offset, length, this.path, into && into.length >= length ? into.subarray(0, length) : undefined);
  }
}

/** Reads and validates individual structures of one open file. */
class IpcFileProbe {
  constructor(
    private readonly path: string,
    private readonly handle: fs.FileHandle,
    private readonly size: number,
  ) {}

  bad(what: string, offset: number): DataError {
    return new DataError(
      `${this.path}: not a valid Arrow IPC file or stream: ${what} (at byte ${offset} of ${this.size}).`,
      'The file is truncated or corrupt; re-export it (Arrow IPC file or stream format).',
    );
  }

  /** The message at `offset`, or null at an end-of-stream marker or the end of the file. */
  async message(offset: number): Promise<MessageRef | null> {
    if (offset === this.size) return null;
    if (offset + 4 > this.size) throw this.bad('a message prefix is cut off', offset);
    const pre = await readAt(this.handle, offset, Math.min(8, this.size - offset));
    const view = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
    let len = view.getInt32(0, true);
    let prefix = 4;
    if (len === -1) {
      if (pre.length < 8) throw this.bad('a message prefix is cut off', offset);
      len = view.getInt32(4, true);
      prefix = 8;
    }
    if (len === 0) return null;
    if (len < 0 || len > MAX_METADATA || offset + prefix + len > this.size) {
      throw this.bad(`a message declares ${len} bytes of metadata`, offset);
    }
    const metaBytes = await readAt(this.handle, offset + prefix, len);
    let meta: MessageMeta;
    try {
      meta = decodeMessage(metaBytes);
    } catch (err) {
      if (err instanceof FlatbufferError || err instanceof RangeError) throw this.bad(`unreadable message metadata (${err.message})`, offset);
      throw err;
    }
    const end = offset + prefix + len + meta.bodyLength;
    if (meta.bodyLength < 0 || end > this.size) throw this.bad(`a message body of ${meta.bodyLength} bytes runs past the end`, offset);
    if (meta.recordBatch) checkBatchMeta(meta, (w) => this.bad(w, offset));
    return { offset, metaSpan: prefix + len, bodyLength: meta.bodyLength, meta };
  }

  /**
   * The footer, with its schema re-encoded as a schema message: the file format's embedded
   * stream need not start with one (some writers put the schema only in the footer).
   */
  async footer() {
    const size = this.size;
    if (size < 8 + 10) throw this.bad('too short for the file format', 0);
    const tail = await readAt(this.handle, size - 10, 10);
    if (!Buffer.from(tail.subarray(4, 10)).equals(MAGIC)) throw this.bad('the trailing ARROW1 magic is missing (truncated?)', size - 6);
    const footerLen = new DataView(tail.buffer, tail.byteOffset, 4).getInt32(0, true);
    const footerStart = size - 10 - footerLen;
    if (footerLen <= 0 || footerStart < 8) throw this.bad(`the footer declares ${footerLen} bytes`, size - 10);
    const bytes = await readAt(this.handle, footerStart, footerLen);
    let footer;
    let schemaBytes: Uint8Array;
    try {
      footer = decodeFooter(bytes);
      // Only now, with every offset checked, let apache-arrow decode the footer's schema.
      const schema = Footer.decode(bytes).schema;
      schemaBytes = frame(Message.encode(new Message(0, schema.metadataVersion, MessageHeader.Schema, schema)));
    } catch (err) {
      throw this.bad(`unreadable footer (${describeError(err)})`, footerStart);
    }
    const dictionaries: MessageRef[] = [];
    for (const b of footer.dictionaries) {
      const m = b.offset < footerStart ? await this.message(b.offset) : null;
      if (!m || m.meta.headerType !== HEADER_DICTIONARY || !m.meta.recordBatch) throw this.bad('a footer dictionary block does not point at a dictionary', b.offset);
      dictionaries.push(m);
    }
    for (const b of footer.recordBatches) {
      if (b.offset < 8 || b.bodyLength < 0 || b.offset + b.bodyLength > footerStart) {
        throw this.bad(`a footer block (offset ${b.offset}, body ${b.bodyLength}) lies outside the data`, footerStart);
      }
    }
    return { schema: footer.schema, schemaBytes, blocks: { dictionaries, recordBatches: footer.recordBatches } };
  }
}

/** Prefix message metadata with the continuation marker and its padded length. */
function frame(metadata: Uint8Array): Uint8Array {
  const padded = (metadata.length + 7) & ~7;
  const out = new Uint8Array(8 + padded);
  const view = new DataView(out.buffer);
  view.setInt32(0, -1, true);
  view.setInt32(4, padded, true);
  out.set(metadata, 8);
  return out;
}

/** Body regions must lie inside the body; lengths must be plausible. */
function checkBatchMeta(meta: MessageMeta, bad: (what: string) => DataError): void {
  const rb = meta.recordBatch!;
  if (rb.length < 0 || rb.length > 0x7fffffff) throw bad(`a record batch declares ${rb.length} rows`);
  for (const b of rb.buffers) {
    if (b.offset < 0 || b.length < 0 || b.offset + b.length > meta.bodyLength) throw bad('a buffer lies outside its message body');
  }
  for (const n of rb.nodes) {
    if (n.length < 0 || n.length > 0x7fffffff || n.nullCount < 0 || n.nullCount > n.length) throw bad(`a field node declares ${n.length} values`);
  }
}

/** A stream starts with 0xFFFFFFFF + length, or (pre-1.0 streams) a bare length that fits the file. */
function looksLikeMessage(head: Uint8Array, size: number): boolean {
  if (head.length < 4) return false;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const first = view.getInt32(0, true);
  if (first === -1) return head.length === 8 && view.getInt32(4, true) > 0 && view.getInt32(4, true) <= size - 8;
  return first > 0 && first <= size - 4;
}

async function readAt(handle: fs.FileHandle, offset: number, length: number, path = 'input', into?: Uint8Array): Promise<Uint8Array> {
  const out = into ?? new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, offset + done);
    if (bytesRead === 0) throw new DataError(`${path}: unexpected end of file at byte ${offset + done} (was it changed while being read?).`, 'Re-export the file and do not modify it during training.');
    done += bytesRead;
  }
  return out;
}
