import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '../../src/backend/select.js';
import { computeFeatureStats } from '../../src/features/stats.js';
import { formatFeatureCard } from '../../src/features/format.js';
import { describeFeature } from '../../src/features/view.js';
import { writeFeatureStats } from '../../src/features/table.js';
import { randomData, randomWeights } from '../helpers/tensors.js';
import { rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { dumpSource, makeDump } from '../features/fixture.js';

// A hand-built run: statistics of random weights over a small dump with token metadata.
// CLI spawns are slow on a busy machine, so each one checks several things.
describe('sae features', () => {
  let dir: string;
  let run: string;
  beforeAll(async () => {
    await initBackend('cpu');
    dir = tmpDir();
    run = path.join(dir, 'run');
    const d = 4;
    const w = randomWeights(d, 12, 41);
    w.b_enc[0] = -50; // dead
    const stats = await computeFeatureStats(w, dumpSource(makeDump(randomData(200, d, 42), d), [64]), {
      topK: 3,
      contextTokens: 2,
      denseThreshold: 0.5,
      resampleHistory: new Map([[5, { count: 2, lastStep: 40 }]]),
    });
    fs.mkdirSync(run);
    writeFeatureStats(run, stats);
  });
  afterAll(async () => rmTmp(dir));

  it('lists features sorted and limited, as text and JSON', async () => {
    const text = await runCli(['features', run, '--sort', 'frequency', '--limit', '5']);
    expect(text.status).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/12 features, statistics over 200 rows; 5 shown, sorted by frequency/);
    expect(lines[1]).toMatch(/^index\s+freq\s+log10/);
    expect(lines.length).toBe(7);

    const json = await runCli(['features', run, '--sort', 'frequency', '--json']);
    expect(json.status).toBe(0);
    const listing = JSON.parse(json.stdout);
    expect(listing.shown.length).toBe(12);
    const freqs = listing.shown.map((r: { frequency: number }) => r.frequency);
    expect(freqs).toEqual([...freqs].sort((a: number, b: number) => b - a));
    expect(lines.slice(2).map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual(listing.shown.slice(0, 5).map((r: { index: number }) => r.index));
    expect(listing.shown.find((r: { index: number }) => r.index === 0)).toMatchObject({ dead: true, fireCount: 0, topTokens: [] });
    expect(listing.shown.find((r: { index: number }) => r.index === 5)).toMatchObject({ resampleCount: 2, lastResampleStep: 40 });
  });

  it('--ascending lists the rarest first; density is the same order as frequency', async () => {
    const asc = JSON.parse((await runCli(['features', run, '--sort', 'frequency', '--ascending', '--json'])).stdout);
    const freqs = asc.shown.map((r: { frequency: number }) => r.frequency);
    expect(freqs).toEqual([...freqs].sort((a: number, b: number) => a - b));
    expect(asc.shown[0]).toMatchObject({ index: 0, dead: true });
    expect(asc.ascending).toBe(true);
    const desc = JSON.parse((await runCli(['features', run, '--sort', 'frequency', '--json'])).stdout);
    const dens = JSON.parse((await runCli(['features', run, '--sort', 'density', '--json'])).stdout);
    expect(dens.shown.map((r: { index: number }) => r.index)).toEqual(desc.shown.map((r: { index: number }) => r.index));
    const text = await runCli(['features', run, '--sort', 'cos', '--ascending', '--limit', '3']);
    expect(text.stdout).toMatch(/sorted by cos, smallest first/);
  });

  it("prints one feature's card with the activating token marked in its context", async () => {
    const card = describeFeature(run, 3);
    expect(card.topExamples.length).toBeGreaterThan(0);
    const res = await runCli(['features', run, '3']);
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/^feature 3 of /);
    for (const e of card.topExamples) {
      const marked = e.context.map((t, i) => (i === e.focus ? ` [[${t.trim()}]]` : t)).join('');
      expect(res.stdout).toContain(`row ${e.rowId}`);
      expect(res.stdout).toContain(marked);
      expect(res.stdout).toContain(e.activation.toFixed(3));
    }
    const dead = formatFeatureCard(describeFeature(run, 0));
    expect(dead).toMatch(/flags: dead/);
    expect(dead).toMatch(/never fired/);
  });

  it('errors clearly for a missing run and a feature index out of range', async () => {
    const missing = await runCli(['features', path.join(dir, 'nope')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*nope does not exist\.\nhint: /);
    expect(missing.stderr).not.toMatch(/at .*\.js/);
    const range = await runCli(['features', run, '12', '--sort', 'bogus']);
    expect(range.status).toBe(1);
    expect(range.stderr).toMatch(/--sort: .*"bogus"/);
    const range2 = await runCli(['features', run, '12']);
    expect(range2.status).toBe(1);
    expect(range2.stderr).toMatch(/feature 12 does not exist .* 12 features \(0-11\)/);
    expect(() => describeFeature(dir, 0)).toThrow(/has no feature statistics \(features.arrow\)/);
  });
});
