import { RecordBatchReader, type RecordBatch, type Schema } from 'apache-arrow';
import { DataError, describeError } from '../../errors.js';
import { registerCodecs } from './codecs.js';

/**
 * Hand apache-arrow exactly one validated record batch at a time: a tiny synthetic stream of
 * [schema, dictionaries..., batch, end-of-stream]. Its reader never sees a footer or more
 * than one batch, so it cannot loop or read outside the message we give it.
 */

const EOS = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/** The apache-arrow Schema of a schema message (full message bytes, prefix included). */
export function arrowSchema(schemaMessage: Uint8Array, where: string): Schema {
  try {
    const reader = RecordBatchReader.from([schemaMessage, EOS]);
    reader.open();
    if (!reader.schema) throw new Error('no schema');
    return reader.schema;
  } catch (err) {
    throw new DataError(`${where}: unreadable Arrow schema (${describeError(err)}).`, 'The file is corrupt; re-export it.');
  }
}

/** Decode one record batch message into an apache-arrow RecordBatch. */
export function decodeBatch(schemaMessage: Uint8Array, dictionaries: Uint8Array[], batchMessage: Uint8Array, where: string): RecordBatch {
  registerCodecs();
  try {
    const reader = RecordBatchReader.from([schemaMessage, ...dictionaries, batchMessage, EOS]);
    const r = reader.next();
    if (r.done || !r.value) throw new Error('no record batch decoded');
    return r.value;
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${where}: cannot decode the record batch (${describeError(err)}).`, 'The file is corrupt or uses an unsupported Arrow feature; re-export it.');
  }
}

