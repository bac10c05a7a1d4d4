import { describe, expect, it } from 'vitest';
import { formatStartup, runStartupBench } from '../../src/bench/startup.js';

describe('the start-up bench (npm run bench -- --startup)', () => {
  it('times each command in a fresh process, the workers\' start and both ways of loading tfjs, and prints them all', async () => {
    const lines: string[] = [];
    const r = await runStartupBench(1, (l) => lines.push(l));
    expect(lines).toEqual(['startup: round 1 of 1']);
    expect(r.commands.map((c) => c.command)).toEqual([
      '--help',
      'inspect <fixture>',
      'synth --rows 2000',
      'train (10 steps of 256, 2 workers)',
      'resample-report <run>',
      'features <run>',
      'features <run> 0',
      'export-dictionary <run> --format npy',
    ]);
    for (const v of [...r.commands.map((c) => c.ms), r.workerPoolMs, r.tfjsImportMs, r.tfjsRequireMs]) expect(v).toBeGreaterThan(0);
    // A command that ran (and wrote its run) takes longer than the help text.
    expect(r.commands[3]!.ms).toBeGreaterThan(r.commands[0]!.ms);
    const text = formatStartup(r);
    for (const c of r.commands) expect(text).toContain(`| \`sae ${c.command}\` | ${Math.round(c.ms)} |`);
    expect(text).toContain(`| ${Math.round(r.tfjsRequireMs)} |`);
  });
});
