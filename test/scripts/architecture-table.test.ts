import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, rmTmp, tmpDir } from '../helpers/cli.js';

// scripts/architecture-table.mjs builds the README's architecture table from run directories.
const dir = tmpDir('sae-arch-table-');
afterAll(() => rmTmp(dir));

function fakeRun(name: string, sae: Record<string, unknown>, ev: { l0: number; explainedVariance: number; mse: number; deadFraction: number }, downstream?: Record<string, number>, status = 'finished') {
  const run = path.join(dir, 'sweep', name);
  fs.mkdirSync(run, { recursive: true });
  fs.writeFileSync(path.join(run, 'config.json'), JSON.stringify({ sae }));
  fs.writeFileSync(path.join(run, 'run.json'), JSON.stringify({ status, step: 200 }));
  fs.writeFileSync(path.join(run, 'eval.json'), JSON.stringify(ev));
  if (downstream) fs.writeFileSync(path.join(run, 'downstream.json'), JSON.stringify(downstream));
  return name;
}

const table = async (...args: string[]) =>
  (await promisify(execFile)(process.execPath, [path.join(REPO, 'scripts', 'architecture-table.mjs'), ...args], { encoding: 'utf8' }));

describe('scripts/architecture-table.mjs', () => {
  it('one row per finished run from its files, by architecture then L0; downstream.json adds ceLossScore', async () => {
    const runs = [
      fakeRun('k-16_architecture-topk', { architecture: 'topk', k: 16 }, { l0: 16, explainedVariance: 0.91234, mse: 3.5, deadFraction: 0.0123 }, { ceLossScore: 0.97, ceLossScoreMean: 0.93, klSae: 0.25, deltaCe: 0.3 }),
      fakeRun('architecture-relu_l1-2', { architecture: 'relu', l1: 2 }, { l0: 12.8, explainedVariance: 0.7, mse: 9, deadFraction: 0 }),
      fakeRun('coefficient-0_k-16_architecture-topk', { architecture: 'topk', k: 16, auxK: { coefficient: 0 } }, { l0: 15.5, explainedVariance: 0.9, mse: 3.6, deadFraction: 0.05 }),
      fakeRun('unfinished', { architecture: 'relu', l1: 1 }, { l0: 30, explainedVariance: 0.8, mse: 6, deadFraction: 0 }, undefined, 'interrupted'),
    ];
    fs.writeFileSync(path.join(dir, 'sweep', 'sweep-plan.json'), JSON.stringify({ runs }));
    const { stdout, stderr } = await table(path.join(dir, 'sweep'));
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\| architecture \| knob \| AuxK \| steps \| L0 \| explained variance \|/);
    expect(lines.slice(2)).toEqual([
      '| relu | l1 2 | - | 200 | 12.80 | 0.7000 | 9.000 | 0.0% | - | - | - | - | architecture-relu_l1-2 |',
      '| topk | k 16 | off | 200 | 15.50 | 0.9000 | 3.600 | 5.0% | - | - | - | - | coefficient-0_k-16_architecture-topk |',
      '| topk | k 16 | on | 200 | 16.00 | 0.9123 | 3.500 | 1.2% | 0.9700 | 0.9300 | 0.2500 | 0.3000 | k-16_architecture-topk |',
    ]);
    expect(stderr).toMatch(/unfinished: not finished \(left out\)/);
    const tsv = (await table(path.join(dir, 'sweep'), '--tsv')).stdout.split('\n');
    expect(tsv[0]!.split('\t').slice(0, 3)).toEqual(['architecture', 'knob', 'AuxK']);
    expect(tsv).toHaveLength(5);
  });

  it("names jumprelu's knob by its penalty: target-l0 by targetL0, the others by l0Coefficient (schema defaults where config.json has none), and how the thresholds started when set", async () => {
    const runs = [
      fakeRun('architecture-jumprelu_targetL0-32', { architecture: 'jumprelu', jumprelu: { penalty: 'target-l0', targetL0: 32 } }, { l0: 31.2, explainedVariance: 0.95, mse: 2, deadFraction: 0.1 }),
      fakeRun('architecture-jumprelu', { architecture: 'jumprelu', jumprelu: { initialThreshold: 0.1 } }, { l0: 29, explainedVariance: 0.94, mse: 2.1, deadFraction: 0.1 }),
      fakeRun('architecture-jumprelu_penalty-tanh', { architecture: 'jumprelu', jumprelu: { penalty: 'tanh', l0Coefficient: 0.05 } }, { l0: 20, explainedVariance: 0.9, mse: 3, deadFraction: 0.1 }),
      fakeRun('architecture-jumprelu_initialL0-64', { architecture: 'jumprelu', jumprelu: { penalty: 'target-l0', targetL0: 16, initialL0: 64 } }, { l0: 18, explainedVariance: 0.9, mse: 3, deadFraction: 0.1 }),
      fakeRun('architecture-jumprelu_auto', { architecture: 'jumprelu', jumprelu: { initialThreshold: 'auto' } }, { l0: 21, explainedVariance: 0.9, mse: 3, deadFraction: 0.1 }),
    ];
    // The plan of a later sweep into the same folder names only some; the others still count.
    fs.writeFileSync(path.join(dir, 'sweep', 'sweep-plan.json'), JSON.stringify({ runs: runs.slice(1) }));
    const rows = (await table(path.join(dir, 'sweep'), '--tsv')).stdout.trim().split('\n').slice(1).map((l) => l.split('\t').slice(0, 3));
    expect(rows.filter((r) => r[0] === 'jumprelu')).toEqual([
      ['jumprelu', 'target-l0 16, from L0 64', '-'],
      ['jumprelu', 'tanh 0.05', '-'],
      ['jumprelu', 'step 0.02', '-'],
      ['jumprelu', 'step 0.02, threshold from 0.1', '-'],
      ['jumprelu', 'target-l0 32', '-'],
    ]);
  });
});
