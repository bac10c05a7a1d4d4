import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_EVAL, FIXTURE_TRAIN, rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { rowsBatch, writeIpc } from '../data/arrow-fixture.js';

const dir = tmpDir();
afterAll(async () => rmTmp(dir));

describe('sae inspect', () => {
  it('reports format, schema, width, rows and statistics of the fixtures as JSON', async () => {
    const r = await runCli(['inspect', FIXTURE_TRAIN, FIXTURE_EVAL, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.rows).toBe(8192 + 2048);
    expect(rep.d).toBe(64);
    expect(rep.shards.map((s: { rows: number }) => s.rows)).toEqual([8192, 2048]);
    expect(rep.shards[0].format).toBe('file');
    expect(rep.shards[0].columnType).toBe('FixedSizeList[64]<Float32>');
    expect(rep.metadata).toMatchObject({ model: 'stories260K', layer: '2', hook: 'resid_post' });
    // The data README: mean norm 6.88, per-dimension std 0.54-1.42 (over the full files).
    expect(rep.norm.mean).toBeGreaterThan(6);
    expect(rep.norm.mean).toBeLessThan(8);
    expect(rep.dimStd.min).toBeGreaterThan(0.3);
    expect(rep.dimStd.max).toBeLessThan(2);
    expect(rep.nonFinite.rows).toBe(0);
  });

  it('prints human text by default and lists NaN/Inf rows instead of failing', async () => {
    const f = writeIpc(path.join(dir, 'nan.arrow'), [rowsBatch(0, 6, 2, { f: (r, j) => (r % 3 === 1 && j === 0 ? NaN : r) })]);
    const r = await runCli(['inspect', f]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('format file, compression none, 1 record batches, 6 rows');
    expect(r.stdout).toContain('NaN/Inf: 2 rows (first row ids: 1, 4)');
  });

  it('gives the same clean error as training for bad input', async () => {
    fs.writeFileSync(path.join(dir, 'bad.arrow'), 'not arrow');
    const r = await runCli(['inspect', path.join(dir, 'bad.arrow')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: ');
    expect(r.stderr).toContain('bad.arrow');
    expect(r.stderr).toContain('hint: ');
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
    const m = await runCli(['inspect', FIXTURE_TRAIN, '--column', 'resid']);
    expect(m.status).toBe(1);
    expect(m.stderr).toContain("no column 'resid' (columns: 'activation', 'token_id', 'token', 'doc_id', 'pos')");
    const g = await runCli(['inspect', path.join(dir, 'nothing-*.arrow')]);
    expect(g.stderr).toContain("no files match");
  });
});
