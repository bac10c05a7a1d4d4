// Child process for corpus.test.ts: for each file argument, open it as the data layer would
// and print one JSON line. Run under vite-node so it uses the TypeScript sources directly.
import { DataError, ToolkitError } from '../../../src/errors.js';
import { planColumn } from '../../../src/data/column.js';
import { arrowSchema } from '../../../src/data/arrow/decode-batch.js';
import { readBlocks, scanDataset } from '../../../src/data/dataset.js';
import { IpcFile } from '../../../src/data/arrow/file.js';
import { openShard } from '../../../src/data/shard.js';
import type { ColumnOptions } from '../../../src/data/types.js';

const cols = (column: string): ColumnOptions => ({ column, columns: { tokenId: 'token_id', token: 'token', docId: 'doc_id', pos: 'pos' } });

/** The first float-list column, if the file's schema can be read at all. */
async function floatColumn(file: string): Promise<string | null> {
  let ipc: IpcFile;
  try {
    ipc = await IpcFile.open(file);
  } catch {
    return null;
  }
  try {
    if (ipc.schema.endianness !== 0) return null;
    const schema = arrowSchema(ipc.schemaBytes, file);
    for (const f of schema.fields) {
      try {
        planColumn(f, file);
        return f.name;
      } catch {
        /* not a float list */
      }
    }
    return null;
  } catch {
    return null;
  } finally {
    await ipc.close();
  }
}

async function run(file: string): Promise<Record<string, unknown>> {
  const column = await floatColumn(file);
  try {
    await openShard(file, cols(column ?? 'activation'));
    const ds = await scanDataset([file], cols(column ?? 'activation'));
    let rows = 0;
    for await (const b of readBlocks(ds, cols(column ?? 'activation'), { checkFinite: false })) rows += b.rows;
    return { status: 'loaded', column, rows };
  } catch (err) {
    if (err instanceof DataError) return { status: 'error', column, message: err.message, hint: err.hint };
    if (err instanceof ToolkitError) return { status: 'bug', message: `${err.name}: ${err.message}` };
    return { status: 'bug', message: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err) };
  }
}

for (const file of process.argv.slice(2)) {
  process.stdout.write(`START ${file}\n`);
  const t0 = performance.now();
  const result = await run(file);
  process.stdout.write(`RESULT ${JSON.stringify({ file, ms: Math.round(performance.now() - t0), ...result })}\n`);
}
