import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBlocks, scanDataset } from '../../src/data/dataset.js';
import { readFinalWeights } from '../../src/io/run-dir.js';
import { FIXTURE_EVAL, REPO, rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { loadExport, reconstruct, type ExportFormatName } from '../helpers/load-export.js';

/*
 * The integration test: the README's quickstart, run from another working directory, learns
 * (the loss falls, held-out explained variance passes a bar), and every export reproduces the
 * run's own held-out reconstructions.
 */
const dir = tmpDir('sae-quickstart-');
const run = path.join(dir, 'qs');
afterAll(() => rmTmp(dir));

let evalX: Float32Array;
let evalRows = 0;
beforeAll(async () => {
  const cols = { column: 'activation', columns: { tokenId: 'token_id', token: 'token', docId: 'doc_id', pos: 'pos' } };
  const ds = await scanDataset([FIXTURE_EVAL], cols);
  const parts: Float32Array[] = [];
  for await (const b of readBlocks(ds, cols)) parts.push(b.x.slice());
  evalRows = ds.rows;
  evalX = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    evalX.set(p, o);
    o += p.length;
  }
});

function mse(w: ReturnType<typeof loadExport>): number {
  const xh = reconstruct(w, evalX, evalRows);
  let s = 0;
  for (let i = 0; i < xh.length; i++) s += (xh[i]! - evalX[i]!) ** 2;
  return s / evalRows;
}

describe('quickstart', () => {
  it('trains on the fixture: the loss falls and held-out explained variance passes the bar', async () => {
    const r = await runCli(['train', '--config', path.join(REPO, 'configs', 'quickstart.json'), '--out', run], { cwd: dir, timeoutMs: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    const metrics = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.at(-1).loss).toBeLessThan(metrics[0].loss / 3);
    const ev = JSON.parse(fs.readFileSync(path.join(run, 'eval.json'), 'utf8'));
    expect(ev.explainedVariance).toBeGreaterThan(0.75);
    expect(ev.l0).toBeGreaterThan(5);
    expect(ev.l0).toBeLessThan(80);
    // The demo shows what the README describes: resampling revives features, few are dense.
    const records = fs.readFileSync(path.join(run, 'resample.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const resampled = records.filter((r) => r.type === 'event').reduce((n, r) => n + r.resampled, 0);
    const revived = records.filter((r) => r.type === 'window').reduce((n, r) => n + r.revived, 0);
    expect(resampled).toBeGreaterThan(0);
    expect(revived).toBeGreaterThan(0);
    expect(ev.denseFraction).toBeLessThan(0.1);
  }, 600_000);

  it('every export reproduces the run\'s held-out reconstructions', async () => {
    const own = readFinalWeights(run).weights;
    const ev = JSON.parse(fs.readFileSync(path.join(run, 'eval.json'), 'utf8'));
    // The run's own weights give the run's own held-out MSE.
    expect(mse(own)).toBeCloseTo(ev.mse, 3);
    const ref = reconstruct(own, evalX, 256);
    for (const format of ['saelens', 'safetensors', 'npy', 'arrow', 'json'] as ExportFormatName[]) {
      const out = path.join(dir, `export-${format}${['safetensors', 'arrow', 'json'].includes(format) ? '.' + format : ''}`);
      const r = await runCli(['export-dictionary', run, '--format', format, '--out', out, '--force']);
      expect(r.status, `${format}: ${r.stderr}`).toBe(0);
      const w = loadExport(out, format);
      const xh = reconstruct(w, evalX, 256);
      let worst = 0;
      for (let i = 0; i < xh.length; i++) worst = Math.max(worst, Math.abs(xh[i]! - ref[i]!));
      expect(worst, format).toBeLessThan(1e-4);
    }
    const half = path.join(dir, 'half.safetensors');
    expect((await runCli(['export-dictionary', run, '--format', 'safetensors', '--out', half, '--dtype', 'float16'])).status).toBe(0);
    expect(mse(loadExport(half, 'safetensors'))).toBeCloseTo(ev.mse, 1);
  });
});
