import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/io/checkpoint/format.js';
import { readSafetensorsFile } from '../../src/io/safetensors.js';
import { FIXTURE_EVAL, FIXTURE_TRAIN, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';
import { float32Bits } from '../helpers/bits.js';

// train.workers counts worker threads: 1 is one worker (its SIMD loops, the fastest single
// thread), 0 the main thread alone (the tfjs formulations). Checkpoints written before the
// count meant that recorded `workers: 1` for the main thread; resuming one must stay there.

const dir = tmpDir('sae-cli-one-worker-');
afterAll(() => rmTmp(dir));
const runs = path.join(dir, 'runs');

function config(name: string, workers: number): string {
  return writeConfig(
    dir,
    {
      data: { train: FIXTURE_TRAIN, eval: FIXTURE_EVAL, shuffleBuffer: 4096 },
      sae: { expansion: 2, l1: 0.01 },
      train: { steps: 20, batchSize: 256, logEvery: 10, workers },
      resample: { enabled: false },
      output: { dir: runs, checkpointEverySteps: 10, checkpointEveryMinutes: 0, topK: 3 },
    },
    `${name}.json`,
  );
}

const stepLines = (stderr: string) => stderr.split('\n').filter((l) => /^step \d+: kernel /.test(l));

/** The newest checkpoint's kernel record, rewritten (with its manifest entry, so it still verifies). */
function rewriteKernel(run: string, kernel: Record<string, unknown>): void {
  const ck = path.join(run, 'checkpoints', 'step-00000020');
  const state = JSON.parse(fs.readFileSync(path.join(ck, 'state.json'), 'utf8'));
  state.components.kernel = { current: state.components.kernel.current, lastL0: state.components.kernel.lastL0, ...kernel };
  const text = JSON.stringify(state);
  fs.writeFileSync(path.join(ck, 'state.json'), text);
  const manifest = JSON.parse(fs.readFileSync(path.join(ck, 'manifest.json'), 'utf8'));
  manifest.files['state.json'] = { bytes: Buffer.byteLength(text), sha256: sha256Hex(text) };
  fs.writeFileSync(path.join(ck, 'manifest.json'), JSON.stringify(manifest));
}

function weightBits(run: string): Record<string, number[]> {
  const t = readSafetensorsFile(path.join(run, 'sae_weights.safetensors')).tensors;
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Array.from(float32Bits(v.data as Float32Array))]));
}

describe('train.workers 1 and 0', () => {
  let one = '';
  let none = '';
  beforeAll(async () => {
    const [a, b] = await Promise.all([
      runCli(['train', '--config', config('one', 1), '--backend', 'wasm']),
      runCli(['train', '--config', config('none', 0), '--backend', 'wasm']),
    ]);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    one = a.stderr;
    none = b.stderr;
  }, 180_000);

  it('1: every step on one worker thread, and the checkpoint records it', () => {
    expect(stepLines(one).length).toBeGreaterThan(0);
    for (const l of stepLines(one)) expect(l).toMatch(/^step \d+: kernel (dense|sparse) x1 workers/);
    const state = JSON.parse(fs.readFileSync(path.join(runs, 'one', 'checkpoints', 'step-00000020', 'state.json'), 'utf8'));
    expect(state.components.kernel.workerThreads).toBe(1);
    expect(state.components.kernel.workers).toBeUndefined();
  });

  it('0: every step on the main thread', () => {
    expect(stepLines(none).length).toBeGreaterThan(0);
    for (const l of stepLines(none)) expect(l).toMatch(/^step \d+: kernel (dense|sparse)$/);
    const state = JSON.parse(fs.readFileSync(path.join(runs, 'none', 'checkpoints', 'step-00000020', 'state.json'), 'utf8'));
    expect(state.components.kernel.workerThreads).toBe(0);
  });

  it("an old checkpoint's `workers: 1` resumes on the main thread, bit for bit", async () => {
    // Three copies of the main-thread run, each extended by 10 steps from its step-20 checkpoint:
    // as recorded, as an old checkpoint recorded it, and recording one worker.
    const as = { recorded: {}, old: { workers: 1 }, worker: { workerThreads: 1 } } as const;
    const out: Record<string, { stderr: string; bits: Record<string, number[]> }> = {};
    for (const [name, kernel] of Object.entries(as)) {
      const run = path.join(dir, `ext-${name}`);
      fs.cpSync(path.join(runs, 'none'), run, { recursive: true });
      if (name !== 'recorded') rewriteKernel(run, kernel);
      const r = await runCli(['train', '--resume', run, '--set', 'train.steps=30', '--backend', 'wasm']);
      expect(r.status, r.stderr).toBe(0);
      out[name] = { stderr: r.stderr, bits: weightBits(run) };
    }
    for (const l of stepLines(out['old']!.stderr)) expect(l).toMatch(/kernel (dense|sparse)$/);
    expect(out['old']!.bits).toEqual(out['recorded']!.bits);
    // The same record naming one worker does move the run onto it.
    expect(stepLines(out['worker']!.stderr).join('\n')).toMatch(/x1 workers/);
  }, 180_000);
});
