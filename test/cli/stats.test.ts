import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { readFeatureStats } from '../../src/features/table.js';
import { randomData, randomWeights } from '../helpers/tensors.js';
import { rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { makeDump, writeDumpArrow, writeRun } from '../features/fixture.js';

// CLI spawns are slow on a busy machine, so each one checks several things.
describe('sae stats', () => {
  let dir: string;
  let run: string;
  let data: string;
  beforeAll(async () => {
    dir = tmpDir();
    run = path.join(dir, 'run');
    writeRun(run, randomWeights(4, 8, 51));
    data = path.join(dir, 'dump.arrow');
    writeDumpArrow(data, makeDump(randomData(300, 4, 52), 4));
  });
  afterAll(async () => rmTmp(dir));

  it('computes statistics over a dump and writes them into the run', async () => {
    const res = await runCli(['stats', run, '--data', data, '--backend', 'cpu', '--top-k', '2']);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/8 features over 300 rows \(top 2 examples, \+-2 tokens of context\)/);
    expect(res.stdout).toMatch(/alive \d+, dead \d+ \(/);
    expect(res.stdout).toContain(`wrote ${path.join(run, 'features.arrow')}`);
    const summary = JSON.parse(fs.readFileSync(path.join(run, 'features.json'), 'utf8'));
    expect(summary).toMatchObject({ features: 8, rows: 300, settings: { topK: 2, contextTokens: 2 } });
    const stats = readFeatureStats(run);
    expect(stats.rows).toBe(300);
    expect(Math.max(...stats.topExamples.map((l) => l.length))).toBe(2);
  });

  it('never silently replaces the run\'s statistics: refused without --out, replaced with --force', async () => {
    const before = fs.readFileSync(path.join(run, 'features.json'), 'utf8');
    const again = await runCli(['stats', run, '--data', data, '--backend', 'cpu', '--top-k', '1']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already has feature statistics \(features\.arrow, features\.json\); without --out, sae stats would replace them/);
    expect(again.stderr).toMatch(/hint: Write the new ones beside them with --out FILE\.arrow .* or replace them with --force/);
    expect(fs.readFileSync(path.join(run, 'features.json'), 'utf8')).toBe(before);
    const forced = await runCli(['stats', run, '--data', data, '--backend', 'cpu', '--top-k', '1', '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(run, 'features.json'), 'utf8')).settings.topK).toBe(1);
  });

  it('writes to --out and prints JSON with --json', async () => {
    const out = path.join(dir, 'alt.arrow');
    const res = await runCli(['stats', run, '--data', data, '--backend', 'cpu', '--out', out, '--max-rows', '50', '--json']);
    expect(res.status).toBe(0);
    const r = JSON.parse(res.stdout);
    expect(r).toMatchObject({ arrowPath: out, jsonPath: path.join(dir, 'alt.json'), summary: { rows: 50 } });
    expect(fs.existsSync(out) && fs.existsSync(path.join(dir, 'alt.json'))).toBe(true);
  });

  it('errors clearly for a missing run, a bad option and a missing data file', async () => {
    const missing = await runCli(['stats', path.join(dir, 'nope'), '--data', data]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*nope does not exist\.\nhint: /);
    const bad = await runCli(['stats', run, '--data', data, '--dense-threshold', '3']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--dense-threshold: Too big/);
    const absent = await runCli(['stats', run, '--data', path.join(dir, 'absent.arrow'), '--out', path.join(dir, 'x.arrow')]);
    expect(absent.status).toBe(1);
    expect(absent.stderr).toMatch(/absent\.arrow/);
  });
});
