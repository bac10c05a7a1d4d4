import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { compareActivations, formatComparison } from '../../src/model/compare-activations.js';
import { FIXTURE_EVAL, rmTmp, tmpDir } from '../helpers/cli.js';

const dir = tmpDir('sae-compare-');
afterAll(() => rmTmp(dir));

/** A copy of the eval fixture after `edit` changed its columns' values in place. */
function editedCopy(name: string, edit: (cols: { x: Float32Array; doc: Int32Array; pos: Int32Array }) => void): string {
  const t = tableFromIPC(fs.readFileSync(FIXTURE_EVAL));
  expect(t.batches).toHaveLength(1);
  const values = (n: string) => t.getChild(n)!.data[0]!;
  edit({ x: values('activation').children[0]!.values as Float32Array, doc: values('doc_id').values as Int32Array, pos: values('pos').values as Int32Array });
  const file = path.join(dir, name);
  fs.writeFileSync(file, tableToIPC(t, 'file'));
  return file;
}

describe('compareActivations', () => {
  it('finds no difference between a dump and itself', async () => {
    const c = await compareActivations([FIXTURE_EVAL], [FIXTURE_EVAL]);
    expect(c).toMatchObject({ rows: 2048, onlyInA: 0, onlyInB: 0, maxAbsDiff: 0, meanAbsDiff: 0 });
  });

  it('reports the largest difference, where it is, and rows without a partner', async () => {
    let where = { docId: 0, pos: 0 };
    const changed = editedCopy('changed.arrow', ({ x, doc, pos }) => {
      x[100 * 64 + 5]! += 0.5;
      where = { docId: doc[100]!, pos: pos[100]! };
      doc[2047] = 999_999; // the last row now belongs to a document the other dump lacks
    });
    const c = await compareActivations([changed], [FIXTURE_EVAL]);
    expect(c.rows).toBe(2047);
    expect(c.onlyInA).toBe(1);
    expect(c.onlyInB).toBe(1);
    expect(c.maxAbsDiff).toBeCloseTo(0.5, 5);
    expect(c.at).toEqual(where);
    expect(formatComparison({ ...c, with: 'ref.arrow' })).toMatch(/^compared with ref\.arrow: 2047 rows matched by \(doc_id, pos\), largest absolute difference 5\.00e-1 \(doc_id \d+, pos \d+\), mean .*; unmatched rows: 1 here, 1 there$/);
  });

  it('refuses a dump that names a (doc_id, pos) twice', async () => {
    const twice = editedCopy('twice.arrow', ({ doc, pos }) => {
      doc[1] = doc[0]!;
      pos[1] = pos[0]!;
    });
    await expect(compareActivations([twice], [FIXTURE_EVAL])).rejects.toThrow(DataError);
    await expect(compareActivations([twice], [FIXTURE_EVAL])).rejects.toThrow(/appears twice/);
  });
});
