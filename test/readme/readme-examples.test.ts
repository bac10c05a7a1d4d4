import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';
// @ts-expect-error: a plain .mjs script without types
import { dropTimedProgress, findBlocks, normalise } from '../../scripts/readme-examples.mjs';

function runScript(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'scripts', 'readme-examples.mjs'), ...args], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

describe('README examples', () => {
  it('are what the current code prints (scripts/readme-examples.mjs --check)', async () => {
    const r = await runScript(['--check']);
    expect(r.stderr).toMatch(/README examples: all \d+ match the current code/);
    expect(r.status, r.stderr).toBe(0);
  }, 600_000);

  it('mark the quickstart, inspect, resample-report and feature card outputs', () => {
    const blocks = findBlocks(fs.readFileSync(path.join(REPO, 'README.md'), 'utf8').split('\n'));
    const cmds = blocks.map((b: { args: string[] }) => b.args.slice(0, 2).join(' '));
    expect(cmds).toEqual(expect.arrayContaining(['train --config', 'inspect fixtures/stories260k-L2-train-8k.arrow', 'resample-report runs/quickstart', 'features runs/quickstart', 'harvest --model']));
  });

  it('compare timings as placeholders and leave out clock-driven progress lines', () => {
    expect(normalise('step 25/500  2246 tok/s  loss 1  eta 3m37s\ndone: 500 steps, 512000 tokens in 42s on wasm')).toBe(
      'step 25/500  N tok/s  loss 1  eta T\ndone: 500 steps, 512000 tokens in T on wasm',
    );
    expect(normalise('L0 17.5')).not.toBe(normalise('L0 17.6'));
    expect(dropTimedProgress(['a', 'step 25/500  x', 'step 200: resampled', 'step 500/500  y'])).toEqual(['a', 'step 200: resampled', 'step 500/500  y']);
    expect(normalise('harvest [####] 9/9 tokens  5120 tokens/s  eta 0s')).toBe('harvest [####] 9/9 tokens  N tokens/s  eta T');
    expect(dropTimedProgress(['harvest [#...] 3/9 tokens  1 tokens/s', 'harvest [####] 9/9 tokens  2 tokens/s', 'wrote 9 rows'])).toEqual(['harvest [####] 9/9 tokens  2 tokens/s', 'wrote 9 rows']);
  });
});
