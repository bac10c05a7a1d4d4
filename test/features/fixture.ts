import fs from 'node:fs';
import { Field, FixedSizeList, Float32, Table, Utf8, makeData, makeVector, tableToIPC, vectorFromArray } from 'apache-arrow';
import type { Batch } from '../../src/data/types.js';
import type { SaeWeights } from '../../src/sae/params.js';
import { RUN_FORMAT_VERSION, type RunInfo } from '../../src/io/run-layout.js';
import { writeFinalDictionary, writeRunConfig, writeRunInfo } from '../../src/io/run-dir.js';

/** Token-level rows laid out as consecutive documents of varying length (small vocabulary). */
export interface DumpRows {
  x: Float32Array;
  d: number;
  doc: Int32Array;
  pos: Int32Array;
  tokenId: Int32Array;
  token: string[];
}

export function makeDump(x: Float32Array, d: number): DumpRows {
  const n = x.length / d;
  const doc = new Int32Array(n);
  const pos = new Int32Array(n);
  let dc = 0;
  let p = 0;
  for (let r = 0; r < n; r++) {
    if (p >= 20 + ((dc * 7) % 31)) {
      dc++;
      p = 0;
    }
    doc[r] = dc;
    pos[r] = p++;
  }
  const tokenId = Int32Array.from({ length: n }, (_, r) => (r * 13) % 50);
  return { x, d, doc, pos, tokenId, token: Array.from(tokenId, (t) => ` w${t}`) };
}

/** The dump as batches of the given sizes (cycled), global row ids in order. */
export function dumpSource(dump: DumpRows, sizes: number[]): () => AsyncIterable<Batch> {
  const n = dump.doc.length;
  const d = dump.d;
  return async function* () {
    let start = 0;
    let s = 0;
    while (start < n) {
      const b = Math.min(sizes[s++ % sizes.length]!, n - start);
      const end = start + b;
      yield {
        x: dump.x.slice(start * d, end * d),
        rows: b,
        d,
        rowIds: Float64Array.from({ length: b }, (_, i) => start + i),
        meta: {
          tokenId: dump.tokenId.slice(start, end),
          token: dump.token.slice(start, end),
          docId: dump.doc.slice(start, end),
          pos: dump.pos.slice(start, end),
        },
      };
      start = end;
    }
  };
}

/** Write the dump as an Arrow IPC file with the real-data column names. */
export function writeDumpArrow(file: string, dump: DumpRows): void {
  const n = dump.doc.length;
  const type = new FixedSizeList(dump.d, new Field('item', new Float32(), false));
  const child = makeData({ type: new Float32(), length: n * dump.d, nullCount: 0, data: dump.x });
  const activation = makeVector(makeData({ type, length: n, nullCount: 0, child }));
  const table = new Table({
    activation,
    token_id: makeVector(dump.tokenId),
    token: vectorFromArray(dump.token, new Utf8()),
    doc_id: makeVector(dump.doc),
    pos: makeVector(dump.pos),
  });
  fs.writeFileSync(file, tableToIPC(table, 'file'));
}

/** A finished run directory holding these weights (no statistics yet). */
export function writeRun(dir: string, w: SaeWeights): void {
  fs.mkdirSync(dir, { recursive: true });
  const now = new Date(0).toISOString();
  const info: RunInfo = {
    formatVersion: RUN_FORMAT_VERSION,
    status: 'finished',
    createdAt: now,
    updatedAt: now,
    backend: 'cpu',
    d: w.d,
    m: w.m,
    totalSteps: 1,
    step: 1,
    tokens: 0,
    inputScale: 1,
    dataMetadata: { model: 'test' },
    trainRows: 0,
    evalRows: 0,
    seed: 0,
  };
  writeRunInfo(dir, info);
  writeRunConfig(dir, { output: { topK: 4, contextTokens: 2, denseThreshold: 0.5 } });
  writeFinalDictionary(dir, w, { dataMetadata: { model: 'test' } });
}
