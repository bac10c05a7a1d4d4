import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { IpcFile } from '../../../src/data/arrow/file.js';
import { decodeBatch } from '../../../src/data/arrow/decode-batch.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeLz4Frame, registerCodecs, decodeLz4Frame } from '../../../src/data/arrow/codecs.js';
import { readBlocks, scanDataset } from '../../../src/data/dataset.js';
import { openShard } from '../../../src/data/shard.js';
import { DataError } from '../../../src/errors.js';
import { COLS, rowsBatch, tempDir, writeIpc } from '../arrow-fixture.js';
import { SHARED } from '../../helpers/shared.js';

const dir = tempDir();
const CORPUS = SHARED + '/arrow-corpus/valid/2.0.0-compression';

beforeAll(async () => {
  // zstd-codec (dev dependency) is an emscripten module with an asynchronous start.
  const { ZstdCodec } = createRequire(import.meta.url)('zstd-codec') as {
    ZstdCodec: { run(cb: (z: { Simple: new () => { compress(d: Uint8Array, level?: number): Uint8Array } }) => void): void };
  };
  const zstd = await new Promise<(d: Uint8Array) => Uint8Array>((resolve) =>
    ZstdCodec.run((z) => {
      const simple = new z.Simple();
      resolve((d) => simple.compress(d, 3));
    }),
  );
  registerCodecs({ lz4: encodeLz4Frame, zstd });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('compressed record batches', () => {
  for (const codec of ['lz4', 'zstd'] as const) {
    for (const format of ['file', 'stream'] as const) {
      it(`reads ${codec} bodies (${format} format) we wrote`, async () => {
        // Smooth values compress well, so the body really is compressed (not stored raw).
        const f = writeIpc(path.join(dir, `${codec}.${format}`), [rowsBatch(0, 300, 8, { f: (r) => r % 4 }), rowsBatch(300, 200, 8, { f: (r) => r % 4 })], format, codec);
        const shard = await openShard(f, COLS);
        expect(shard.compression).toBe(codec === 'lz4' ? 'lz4_frame' : 'zstd');
        expect(fs.statSync(f).size).toBeLessThan(500 * 8 * 4);
        const ds = await scanDataset([f], COLS);
        let rows = 0;
        for await (const b of readBlocks(ds, COLS)) {
          for (let i = 0; i < b.rows; i++) expect(b.x[i * 8 + 5]).toBe(b.rowIds[i]! % 4);
          expect(b.meta.token![0]).toBe(`t${b.rowIds[0]}`);
          rows += b.rows;
        }
        expect(rows).toBe(500);
      });
    }
  }

  it('reads the compressed files written by Arrow C++ (file and stream, lz4 and zstd) to the values in their JSON twins', async () => {
    const files = fs.readdirSync(CORPUS).filter((f) => !f.endsWith('.json.gz'));
    expect(files.length).toBe(12 - 4);
    for (const f of files) {
      const json = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(CORPUS, f.replace(/\.(arrow_file|stream)$/, '.json.gz')))).toString());
      const ipc = await IpcFile.open(path.join(CORPUS, f));
      const got: string[] = [];
      let compressed = 0;
      for await (const m of ipc.messages()) {
        if (m.meta.recordBatch?.compression) compressed++;
        const rb = decodeBatch(ipc.schemaBytes, [], await ipc.readMessage(m), f);
        const ints = rb.getChild('ints')!;
        for (let i = 0; i < ints.length; i++) if (ints.isValid(i)) got.push(String(ints.get(i)));
      }
      await ipc.close();
      const want: string[] = [];
      for (const b of json.batches) {
        const c = b.columns.find((x: { name: string }) => x.name === 'ints');
        c.DATA.forEach((v: string | number, i: number) => c.VALIDITY[i] && want.push(String(v)));
      }
      expect(compressed).toBeGreaterThan(0);
      expect(want.length).toBeGreaterThan(0);
      expect(got).toEqual(want);
      // No float-list column: the reader says so.
      await expect(openShard(path.join(CORPUS, f), COLS)).rejects.toThrow("no column 'activation'");
    }
  });

  it('rejects a corrupt LZ4 frame instead of copying garbage', () => {
    const good = encodeLz4Frame(new Uint8Array(1000).fill(7));
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(7, 0x7ffffff0, true);
    expect(() => decodeLz4Frame(bad)).toThrow(DataError);
    expect(Array.from(decodeLz4Frame(good))).toEqual(new Array(1000).fill(7));
  });

});
