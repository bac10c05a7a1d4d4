import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParallelStep } from '../step/workers/parallel-step.js';
import { median } from './train-bench.js';

/**
 * What a user waits for before any work: the CLI's start-up per command (each a fresh process),
 * the worker threads' start, and what loading tfjs costs each way (an ESM import of the union
 * package against `require`, src/backend/tfjs.ts). Medians of `repeats` runs, each command in turn.
 */
export interface StartupResult {
  repeats: number;
  /** Wall milliseconds of `sae <args>` from spawn to exit. */
  commands: { command: string; ms: number }[];
  /** Milliseconds to start two workers and their shared memory (d 64, m 512, batch 1024). */
  workerPoolMs: number;
  /** Milliseconds to load tfjs in a fresh process: `import('@tensorflow/tfjs')` and `require` of it. */
  tfjsImportMs: number;
  tfjsRequireMs: number;
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURE = path.join(REPO, 'fixtures', 'stories260k-L2-eval-2k.arrow');

/** One `node <args>` run in `cwd`: its wall ms and its stdout; throws with its stderr if it fails. */
function runNode(args: string[], cwd: string): { ms: number; stdout: string } {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop()}`);
  return { ms, stdout: r.stdout };
}

/** Milliseconds a fresh process takes to run `code` (which prints them). */
const selfTimed = (flags: string[], code: string): number => Number(runNode([...flags, '-e', `const t = performance.now(); ${code}; process.stdout.write(String(performance.now() - t));`], REPO).stdout);

export async function runStartupBench(repeats: number, log: (line: string) => void): Promise<StartupResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-startup-'));
  try {
    const sae = path.join(REPO, 'bin', 'sae.js');
    const config = path.join(dir, 'tiny.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        data: { train: FIXTURE, evalFraction: 0.25 },
        sae: { width: 128, l1: 1 },
        train: { steps: 10, batchSize: 256, workers: 2 },
        output: { dir, name: 'run', checkpointEverySteps: 0, statsRows: 512 },
      }),
    );
    const run = path.join(dir, 'run');
    const commands: [string, string[]][] = [
      ['--help', ['--help']],
      ['inspect <fixture>', ['inspect', FIXTURE]],
      ['synth --rows 2000', ['synth', '--out', path.join(dir, 'synth'), '--rows', '2000', '--force']],
      ['train (10 steps of 256, 2 workers)', ['train', '--config', config, '--force']],
      ['resample-report <run>', ['resample-report', run]],
      ['features <run>', ['features', run, '--limit', '5']],
      ['features <run> 0', ['features', run, '0']],
      ['export-dictionary <run> --format npy', ['export-dictionary', run, '--format', 'npy', '--out', path.join(dir, 'npy'), '--force']],
    ];
    const times = commands.map(() => [] as number[]);
    const load = { import: [] as number[], require: [] as number[] };
    const pool: number[] = [];
    for (let k = 0; k < repeats; k++) {
      commands.forEach(([, args], i) => times[i]!.push(runNode([sae, ...args], dir).ms));
      load.import.push(selfTimed(['--input-type=module'], "await import('@tensorflow/tfjs')"));
      load.require.push(selfTimed([], "require('@tensorflow/tfjs')"));
      const t = performance.now();
      const p = await ParallelStep.create({ batchSize: 1024, d: 64, m: 512, workers: 2, backend: 'wasm', simd: true });
      pool.push(performance.now() - t);
      await p.dispose();
      log(`startup: round ${k + 1} of ${repeats}`);
    }
    return {
      repeats,
      commands: commands.map(([command], i) => ({ command, ms: median(times[i]!) })),
      workerPoolMs: median(pool),
      tfjsImportMs: median(load.import),
      tfjsRequireMs: median(load.require),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function formatStartup(r: StartupResult): string {
  const rows = r.commands.map((c) => `| \`sae ${c.command}\` | ${Math.round(c.ms)} |`);
  return [
    `Start-up, median of ${r.repeats} (wall ms, each a fresh process):`,
    '',
    '| what | ms |',
    '| --- | --- |',
    ...rows,
    `| two worker threads started (tfjs wasm and the step's memory in each) | ${Math.round(r.workerPoolMs)} |`,
    `| tfjs loaded with \`import('@tensorflow/tfjs')\` (the process's own time, from the first line) | ${Math.round(r.tfjsImportMs)} |`,
    `| tfjs loaded with \`require('@tensorflow/tfjs')\` (what src/backend/tfjs.ts does) | ${Math.round(r.tfjsRequireMs)} |`,
  ].join('\n');
}
