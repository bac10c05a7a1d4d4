#!/usr/bin/env node
// Cut the small real-activation fixtures shipped in fixtures/ from the full stories260K dumps
// (/work/shared/data, see its README.md): the first rows of the train and eval files, all
// columns, schema metadata kept, IPC file format. Usage: node scripts/make-fixtures.mjs [dataDir]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordBatchFileReader, RecordBatchFileWriter } from 'apache-arrow';

const here = path.dirname(fileURLToPath(import.meta.url));
const dataDir = process.argv[2] ?? '/work/shared/data';
const outDir = path.join(here, '..', 'fixtures');

const cuts = [
  { from: 'stories260k-L2-train.arrow', to: 'stories260k-L2-train-8k.arrow', rows: 8192 },
  { from: 'stories260k-L2-eval.arrow', to: 'stories260k-L2-eval-2k.arrow', rows: 2048 },
];

for (const cut of cuts) {
  const reader = RecordBatchFileReader.from(fs.readFileSync(path.join(dataDir, cut.from)));
  const writer = new RecordBatchFileWriter();
  let left = cut.rows;
  for (const batch of reader) {
    if (left <= 0) break;
    const take = batch.numRows <= left ? batch : batch.slice(0, left);
    writer.write(take);
    left -= take.numRows;
  }
  if (left > 0) throw new Error(`${cut.from} holds fewer than ${cut.rows} rows`);
  writer.finish();
  const bytes = writer.toUint8Array(true);
  fs.writeFileSync(path.join(outDir, cut.to), bytes);
  process.stderr.write(`${cut.to}: ${cut.rows} rows, ${bytes.length} bytes\n`);
}
