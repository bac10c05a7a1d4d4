import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';

// scripts/synthetic-table.mjs builds the README's synthetic-data table from real runs: a tiny
// `sae synth` set, one relu and one topk run of a sweep over it, each scored with
// `sae eval --ground-truth --json > RUN/ground-truth.json`. The table's numbers must be the files'.
const dir = tmpDir('sae-synth-table-');
const data = path.join(dir, 'synth');
const sweep = path.join(dir, 'sweep');
afterAll(() => rmTmp(dir));

const table = async (...args: string[]) =>
  await promisify(execFile)(process.execPath, [path.join(REPO, 'scripts', 'synthetic-table.mjs'), ...args], { encoding: 'utf8' });

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));

beforeAll(async () => {
  const s = await runCli(['synth', '--out', data, '--rows', '4000', '--eval-rows', '1000', '--features', '24', '--dim', '12', '--active', '2', '--seed', '4']);
  expect(s.status, s.stderr).toBe(0);
  const cfg = writeConfig(dir, {
    data: { train: path.join(data, 'activations.arrow'), eval: path.join(data, 'eval.arrow') },
    sae: { width: 48, l1: 0.1 },
    train: { steps: 120, batchSize: 128, lr: 0.003, logEvery: 60 },
    output: { dir: path.join(dir, 'runs'), checkpointEverySteps: 0, checkpointEveryMinutes: 0 },
  });
  const grid = writeConfig(dir, { groups: [{ grid: { 'sae.architecture': ['relu'] } }, { set: { 'sae.l1': null }, grid: { 'sae.architecture': ['topk'], 'sae.k': [2] } }] }, 'grid.json');
  const sw = await runCli(['sweep', '--config', cfg, '--grid-file', grid, '--out', sweep]);
  expect(sw.status, sw.stderr).toBe(0);
  for (const run of ['architecture-relu', 'architecture-topk_k-2']) {
    const ev = await runCli(['eval', path.join(sweep, run), '--data', path.join(data, 'eval.arrow'), '--ground-truth', path.join(data, 'ground-truth.safetensors'), '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    fs.writeFileSync(path.join(sweep, run, 'ground-truth.json'), ev.stdout);
  }
}, 240_000);

describe('scripts/synthetic-table.mjs', () => {
  it("prints each run's L0, explained variance, dead and ground-truth scores as its files hold them", async () => {
    const { stdout } = await table(sweep, '--tsv');
    const [head, ...lines] = stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(head).toEqual(['architecture', 'knob', 'AuxK', 'steps', 'L0', 'explained variance', 'dead', 'MMCS', 'matched mean cos', 'recovered > 0.9', 'recovered > 0.99', 'best', 'run']);
    expect(lines.map((l) => l[0])).toEqual(['relu', 'topk']);
    for (const cells of lines) {
      const row = Object.fromEntries(head!.map((h, i) => [h, cells[i]!]));
      const run = path.join(sweep, row.run!);
      const ev = readJson(path.join(run, 'eval.json'));
      const gt = readJson(path.join(run, 'ground-truth.json')).metrics.groundTruth;
      expect(row.steps).toBe('120');
      expect(row.L0).toBe(ev.l0.toFixed(2));
      expect(row['explained variance']).toBe(ev.explainedVariance.toFixed(4));
      expect(row.dead).toBe(`${(100 * ev.deadFraction).toFixed(1)}%`);
      expect(row.MMCS).toBe(gt.mmcs.toFixed(4));
      expect(row['matched mean cos']).toBe(gt.matchedMeanAbsCosine.toFixed(4));
      expect(row['recovered > 0.9']).toBe(`${gt.recovered090} (${((100 * gt.recovered090) / 24).toFixed(1)}%)`);
      expect(row['recovered > 0.99']).toMatch(new RegExp(`^${gt.recovered099} \\(`));
      expect(row.best).toBe('yes'); // one run per architecture
      expect(gt.features).toBe(24);
    }
    expect(lines[0]![1]).toBe('l1 0.1');
    expect(lines[1]!.slice(1, 3)).toEqual(['k 2', 'on']);
    // TopK keeps k = 2 per row on the held-out rows.
    expect(lines[1]![4]).toBe('2.00');
  });

  it('leaves out a run without its ground-truth scores, saying how to make them; markdown by default', async () => {
    const extra = path.join(dir, 'extra');
    fs.cpSync(path.join(sweep, 'architecture-relu'), extra, { recursive: true });
    fs.rmSync(path.join(extra, 'ground-truth.json'));
    const { stdout, stderr } = await table(sweep, extra);
    expect(stderr).toMatch(/extra: no ground-truth\.json \(sae eval RUN --ground-truth GT --json > RUN\/ground-truth\.json\) \(left out\)/);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\| architecture \| knob \| AuxK \| steps \| L0 \|/);
    expect(lines).toHaveLength(4);
  });
});
