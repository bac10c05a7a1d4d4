import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// Runs the built script (`npm test` builds dist/ first).
const bench = (args: string[]) => promisify(execFile)(process.execPath, ['dist/bench/main.js', ...args], { encoding: 'utf8' });

describe('npm run bench: where each report goes', () => {
  const modes: Array<[string, string[], RegExp, string]> = [
    ['--slice-work', ['--slice-work', '--configs', 'tiny', '--workers', '2,4', '--target-l0', '4'], /^\| config \| d \| m \| batch \| slices \|/m, 'sliceWork'],
    ['--resample-scoring', ['--resample-scoring', '--configs', 'tiny', '--rows', '512', '--workers', '2'], /^resampling's pool scoring, config tiny/m, 'resampleScoring'],
  ];

  it.each(modes)('%s: the table on stdout (so `> report.md` keeps it); with --json the JSON there and the table on stderr', async (_, args, table, key) => {
    const plain = await bench(args);
    expect(plain.stdout).toMatch(table);
    expect(plain.stderr).not.toMatch(table);
    const json = await bench([...args, '--json']);
    expect(JSON.parse(json.stdout)[key].length).toBeGreaterThan(0);
    expect(json.stderr).toMatch(table);
  }, 120_000);
});
