import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatModelBench } from '../../src/bench/model.js';

describe('npm run bench, the model part', () => {
  // Runs the built script (`npm test` builds dist/ first); --model-quick: one context, one pass.
  it('prints harvest (1 and 2 threads, and the CLI end to end) and spliced-eval tokens/s, the time split by phase, the tfjs reference and peak memory', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['dist/bench/main.js', '--model-only', '--model-quick', '--json'], { encoding: 'utf8' });
    expect(stderr).toMatch(/language model forward/);
    const report = JSON.parse(stdout);
    expect(report.train).toEqual([]);
    const rows = report.model.rows as { task: string; tokens: number; tokensPerSecond: number; split?: Record<string, number> }[];
    const fast = rows.find((r) => r.task === 'harvest blocks.2.hook_resid_post')!;
    const tfjs = rows.find((r) => r.task.endsWith('(tfjs path)'))!;
    const spliced = rows.find((r) => r.task.startsWith('spliced evaluation'))!;
    const threads = rows.find((r) => r.task === 'harvest blocks.2.hook_resid_post, 2 threads')!;
    const cli = rows.find((r) => r.task === 'sae harvest CLI end to end, 2 threads')!;
    expect(cli.tokens).toBeGreaterThan(2048);
    for (const r of [fast, tfjs, spliced, threads, cli]) {
      expect(r.tokens).toBeGreaterThan(0);
      expect(r.tokensPerSecond).toBeGreaterThan(0);
    }
    expect(Object.keys(fast.split!)).toEqual(expect.arrayContaining(['products', 'attention', 'norms and SwiGLU', 'host', 'hooks', 'read-back']));
    const shares = Object.values(fast.split!).reduce((a, b) => a + b, 0);
    expect(shares).toBeGreaterThan(0.9);
    expect(shares).toBeLessThan(1.1);
    expect(report.model.peakRssMiB).toBeGreaterThan(0);
    expect(report.model.parameters['random-110M']).toBeGreaterThan(1e8);
    expect(formatModelBench(report.model)).toMatch(/\| stories260K \| harvest blocks\.2\.hook_resid_post \| 64 \| \d+ \| [\d.]+ \| \d+ \| .*products \d+%/);
  });

  it('--no-model leaves it out', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['dist/bench/main.js', '--no-model', '--data-only', '--no-data'], { encoding: 'utf8' });
    expect(stdout).toMatch(/^machine: /);
    expect(stdout).not.toMatch(/stories260K/);
  });
});
