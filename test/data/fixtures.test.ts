import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBlocks, scanDataset } from '../../src/data/dataset.js';
import { COLS } from './arrow-fixture.js';
import { SHARED } from '../helpers/shared.js';

const REPO = path.resolve(__dirname, '../..');
const TRAIN = path.join(REPO, 'fixtures', 'stories260k-L2-train-8k.arrow');
const EVAL = path.join(REPO, 'fixtures', 'stories260k-L2-eval-2k.arrow');
const SHARED_DATA = SHARED + '/data';

async function firstRows(file: string, n: number) {
  const ds = await scanDataset([file], COLS);
  // Both files start with a record batch of at least n rows.
  for await (const b of readBlocks(ds, COLS)) {
    expect(b.rows).toBeGreaterThanOrEqual(n);
    return { x: Array.from(b.x.subarray(0, n * b.d)), tokens: b.meta.token!.slice(0, n) };
  }
  throw new Error('no rows');
}

describe('shipped fixtures', () => {
  it('hold the advertised rows, columns and schema metadata', async () => {
    for (const [file, rows, split] of [[TRAIN, 8192, 'train'], [EVAL, 2048, 'eval']] as const) {
      const ds = await scanDataset([file], COLS);
      expect(ds.rows).toBe(rows);
      expect(ds.d).toBe(64);
      expect(ds.shards[0]!.fields.map((f) => f.name)).toEqual(['activation', 'token_id', 'token', 'doc_id', 'pos']);
      expect(ds.metadata).toMatchObject({ model: 'stories260K', split, hook: 'resid_post' });
      expect(fs.statSync(file).size).toBeLessThan(3 << 20);
    }
  });

  it.skipIf(!fs.existsSync(SHARED_DATA))('are the first rows of the full dumps', async () => {
    for (const [mine, full] of [[TRAIN, 'stories260k-L2-train.arrow'], [EVAL, 'stories260k-L2-eval.arrow']] as const) {
      const a = await firstRows(mine, 2048);
      const b = await firstRows(path.join(SHARED_DATA, full), 2048);
      expect(a.x).toEqual(b.x);
      expect(a.tokens).toEqual(b.tokens);
    }
  });
});
