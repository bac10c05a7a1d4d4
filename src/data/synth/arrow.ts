import fs from 'node:fs';
import {
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int32,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  makeData,
  type Data,
  type DataType,
} from 'apache-arrow';
import { fsError, fsyncDir, tempPathBeside } from '../../io/atomic.js';
import path from 'node:path';

/** FixedSizeList<Float32>[width], the activation layout of this project. */
export function vectorType(width: number): FixedSizeList<Float32> {
  return new FixedSizeList(width, new Field('item', new Float32(), false));
}

/** Column data for a FixedSizeList<Float32>[width] from row-major values [rows, width]. */
export function vectorColumn(values: Float32Array, rows: number, width: number): Data<FixedSizeList<Float32>> {
  const child = makeData({ type: new Float32(), length: rows * width, data: values });
  return makeData({ type: vectorType(width), length: rows, nullCount: 0, child });
}

export function int32Column(values: Int32Array): Data<Int32> {
  return makeData({ type: new Int32(), length: values.length, data: values });
}

export function float64Column(values: Float64Array): Data<Float64> {
  return makeData({ type: new Float64(), length: values.length, data: values });
}

/** A record batch of the given schema from one Data per field (same order). */
export function recordBatch(schema: Schema, columns: Data<DataType>[], rows: number): RecordBatch {
  const struct = makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children: columns });
  return new RecordBatch(schema, struct);
}

export function schemaOf(fields: [string, DataType][], metadata: Record<string, string>): Schema {
  return new Schema(
    fields.map(([name, type]) => new Field(name, type, false)),
    new Map(Object.entries(metadata)),
  );
}

/**
 * An Arrow IPC file written batch by batch to a temporary name and renamed into place on
 * close(), so memory holds one batch at a time and readers never see a partial file.
 */
export class ArrowFileSink {
  readonly file: string;
  private readonly tmp: string;
  private readonly fd: number;
  private readonly writer = new RecordBatchFileWriter();
  private readonly drained: Promise<void>;
  private failure: unknown = null;

  constructor(file: string) {
    this.file = file;
    this.tmp = tempPathBeside(file);
    let fd: number;
    try {
      fd = fs.openSync(this.tmp, 'wx', 0o644);
    } catch (err) {
      throw fsError(err, file, 'create');
    }
    this.fd = fd;
    // The writer queues encoded bytes; this loop moves them to disk as they appear.
    this.drained = (async () => {
      for await (const chunk of this.writer) {
        if (this.failure) continue;
        try {
          let off = 0;
          while (off < chunk.byteLength) off += fs.writeSync(fd, chunk, off, chunk.byteLength - off);
        } catch (err) {
          this.failure = err;
        }
      }
    })();
  }

  /** Append a batch, then let the drain loop flush it (bounded memory). */
  async write(batch: RecordBatch): Promise<void> {
    this.writer.write(batch);
    // Queued chunks are handed to the drain loop through already-resolved promises, so all of
    // them reach disk before a macrotask boundary.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.failure) throw fsError(this.failure, this.file, 'write');
  }

  /** Finish the file (footer), fsync and rename into place. */
  async close(): Promise<void> {
    // finish() writes the footer and, with autoDestroy (the default), closes the byte queue.
    this.writer.finish();
    await this.drained;
    try {
      if (this.failure) throw this.failure;
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      fs.renameSync(this.tmp, this.file);
      fsyncDir(path.dirname(this.file));
    } catch (err) {
      this.abort();
      throw fsError(err, this.file, 'write');
    }
  }

  /** Remove the temporary file (after an error or interruption). */
  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    fs.rmSync(this.tmp, { force: true });
  }
}
