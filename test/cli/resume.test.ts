import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCheckpoints, loadLatestCheckpoint } from '../../src/io/checkpoint/checkpoint.js';
import { readSafetensorsFile } from '../../src/io/safetensors.js';
import { Rng } from '../../src/util/rng.js';
import { sparseActivations, writeActivationShard } from '../helpers/arrow-shards.js';
import { metricsOf, runInfoOf, startCli, STACK_LINE, waitUntil, type CliExit } from '../helpers/cli-async.js';
import { REPO, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';
import { float32Bits as bits } from '../helpers/bits.js';

/**
 * End to end: `sae train --resume` after real SIGKILLs, SIGTERM, SIGINT, and the run lock.
 * Tiny problem (d=64, m=128, batch 256) on the wasm backend so each process spends most of
 * its time starting up; the kills land during training or the final writes.
 */
const D = 64;
const STEPS = 120;
const dir = tmpDir('sae-resume-');
let trainFile = '';
let evalFile = '';

beforeAll(async () => {
  trainFile = path.join(dir, 'train.arrow');
  evalFile = path.join(dir, 'eval.arrow');
  writeActivationShard(trainFile, sparseActivations(8192, D, 1), D, 2048);
  writeActivationShard(evalFile, sparseActivations(1024, D, 2), D, 1024);
});
afterAll(async () => rmTmp(dir));

function config(name: string, train: Record<string, unknown> = {}, output: Record<string, unknown> = {}, sae: Record<string, unknown> = {}): string {
  return writeConfig(
    dir,
    {
      data: { train: trainFile, eval: evalFile, shuffleBuffer: 2048 },
      sae: { width: 128, l1: 0.005, bDecInit: 'mean', initSamples: 1024, ...sae },
      train: { steps: STEPS, batchSize: 256, logEvery: 10, seed: 11, ...train },
      // Two resampling events, so resampler randomness and firing history must survive a resume.
      resample: { every: 40, until: 100, deadWindow: 20, samples: 2048 },
      output: { checkpointEverySteps: 10, checkpointEveryMinutes: 0, keepCheckpoints: 2, topK: 3, ...output },
    },
    `${name}.json`,
  );
}

const fresh = (cfg: string, run: string) => ['train', '--config', cfg, '--out', run, '--backend', 'wasm'];
const resume = (run: string) => ['train', '--resume', run];

function tensorsOf(run: string): Record<string, Float32Array> {
  const content = readSafetensorsFile(path.join(run, 'sae_weights.safetensors'));
  return Object.fromEntries(Object.entries(content.tensors).map(([k, t]) => [k, t.data as Float32Array]));
}

/** Metrics fields that depend only on the training trajectory (not on wall-clock time). */
function trajectory(run: string): unknown[] {
  return metricsOf(run).map((r) => {
    const { tokensPerSecond: _t, elapsedSeconds: _e, ...rest } = r;
    return rest;
  });
}

describe('sae train --resume after SIGKILL', () => {
  const runA = path.join(dir, 'runA');
  const runB = path.join(dir, 'runB');
  const kills: string[] = [];

  beforeAll(async () => {
    // Wide, a large L1 coefficient and learning rate: hundreds of features die before each of the
    // two resampling events, so the pool is scored and rows drawn. Two workers pinned: the steps
    // and the pool's scoring both run on them.
    const cfg = config('kill', { workers: 2, lr: 0.03 }, {}, { width: 1024, l1: 2 });
    // A: uninterrupted. Time its phases to aim the kills of B at training, not start-up.
    const a = startCli(fresh(cfg, runA));
    await waitUntil(() => fs.existsSync(path.join(runA, 'config.json')), { proc: a, everyMs: 5 });
    const tConfig = performance.now() - a.startedAt;
    const exitA = await a.done;
    expect(exitA.code, exitA.stderr).toBe(0);
    expect(exitA.stderr.match(/resampled \d+ of \d+ dead feature\(s\) \([^)]*; pool scored on 2 workers\)/g)?.length, exitA.stderr).toBe(2);
    const span = Math.max(200, exitA.ms - tConfig);

    const rng = new Rng(20240601);
    for (let attempt = 0; attempt < 3; attempt++) {
      const done = listCheckpoints(runB).pop()?.step ?? 0;
      const remaining = (STEPS - done) / STEPS;
      const b = startCli(attempt === 0 ? fresh(cfg, runB) : resume(runB));
      if (attempt === 0) {
        // The first kill is aimed by the run's own progress, not by run A's timing (which a loaded
        // machine makes useless): once B has logged a seeded step of 10..70, within a few steps' time.
        const target = 10 * (1 + Math.floor(7 * rng.next()));
        await waitUntil(() => Number(metricsOf(runB).pop()?.step ?? 0) >= target, { proc: b, everyMs: 5 });
        await waitUntil(() => false, { proc: b, timeoutMs: 0.05 * rng.next() * span, everyMs: 5 });
      } else {
        const armedAt = performance.now() - b.startedAt;
        const delay = Math.max(0, tConfig - armedAt) + (0.05 + 0.9 * rng.next()) * remaining * span;
        await waitUntil(() => false, { proc: b, timeoutMs: delay, everyMs: 5 });
      }
      if (b.exited()) {
        const r = await b.done;
        expect(r.code, `attempt ${attempt} ended by itself:\n${r.stderr}`).toBe(0);
        break;
      }
      const lastLogged = metricsOf(runB).pop()?.step ?? 0;
      b.child.kill('SIGKILL');
      const r = await b.done;
      if (r.signal !== 'SIGKILL') {
        // It exited on its own just before the kill.
        expect(r.code, `attempt ${attempt}:\n${r.stderr}`).toBe(0);
        break;
      }
      kills.push(`attempt ${attempt}: killed after ${Math.round(r.ms)} ms, last logged step ${String(lastLogged)}, newest checkpoint before: ${done}`);
    }
    for (let i = 0; i < 5 && runInfoOf(runB)?.status !== 'finished'; i++) {
      const r = await runCli(resume(runB), { timeoutMs: 240_000 });
      expect(r.status, r.stderr).toBe(0);
    }
  }, 600_000);

  it('was killed at least once mid-run and still finished', async () => {
    expect(kills.length, kills.join('\n')).toBeGreaterThanOrEqual(1);
    expect(runInfoOf(runB)).toMatchObject({ status: 'finished', step: STEPS });
    expect(fs.existsSync(path.join(runB, 'LOCK'))).toBe(false);
  });

  it('ends with bitwise the same weights as the uninterrupted run', async () => {
    const a = tensorsOf(runA);
    const b = tensorsOf(runB);
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    expect(Object.keys(a)).toEqual(expect.arrayContaining(['W_enc', 'b_enc', 'W_dec', 'b_dec']));
    for (const k of Object.keys(a)) expect(bits(b[k]!), `${k}; ${kills.join('; ')}`).toEqual(bits(a[k]!));
  });

  it("records the step formulation and the worker count in checkpoints (a resume sums in the same order)", () => {
    const c = loadLatestCheckpoint(runB, () => {});
    const kernel = (c!.components as { kernel?: { current: string; workerThreads?: number } }).kernel;
    expect(kernel?.current).toMatch(/^(dense|sparse)$/);
    expect(Number.isInteger(kernel?.workerThreads) && kernel!.workerThreads! >= 1).toBe(true);
  });

  it('logs the same metrics trajectory, each step once', async () => {
    expect(trajectory(runB)).toEqual(trajectory(runA));
  });

  it('keeps at most keepCheckpoints checkpoints and no temporary folders', async () => {
    const names = fs.readdirSync(path.join(runB, 'checkpoints'));
    expect(names.every((n) => /^step-\d{8}$/.test(n)), names.join(', ')).toBe(true);
    expect(names.length).toBeLessThanOrEqual(2);
    expect(loadLatestCheckpoint(runB)?.step).toBe(STEPS);
  });
});

describe('sae train: signals and the run lock', () => {
  /** A run of `steps` started fresh; resolves once it has logged a step (and written a checkpoint, if asked). */
  async function startTraining(name: string, steps: number, output: Record<string, unknown> = {}, checkpointed = false) {
    const run = path.join(dir, name);
    const proc = startCli(fresh(config(name, { steps }, output), run));
    const ready = () => metricsOf(run).length > 0 && (!checkpointed || listCheckpoints(run).length > 0);
    const training = await waitUntil(ready, { proc, everyMs: 5 });
    return { run, proc, training };
  }

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal}: finishes the step, writes a checkpoint, says how to resume, exits ${code}; resume then finishes`, async () => {
      // No periodic checkpoints: any checkpoint on disk was written because of the signal.
      const { run, proc, training } = await startTraining(`sig-${code}`, 600, { checkpointEverySteps: 0 });
      if (!training) expect.fail(`training never started:\n${(await proc.done).stderr}`);
      proc.child.kill(signal);
      const r: CliExit = await proc.done;
      expect(r.code, r.stderr).toBe(code);
      // The hint may name the run relative to the working directory the CLI ran in.
      const named = /sae train --resume (\S+)/.exec(r.stderr)?.[1];
      expect(named && path.resolve(REPO, named), r.stderr).toBe(run);
      expect(r.stderr).not.toMatch(STACK_LINE);
      const ckpt = loadLatestCheckpoint(run);
      expect(ckpt).not.toBeNull();
      expect(ckpt!.step).toBeGreaterThan(0);
      expect(ckpt!.step).toBeLessThan(600);
      expect(runInfoOf(run)).toMatchObject({ status: 'interrupted' });
      expect(fs.existsSync(path.join(run, 'LOCK'))).toBe(false);

      const again = await runCli(resume(run), { timeoutMs: 240_000 });
      expect(again.status, again.stderr).toBe(0);
      expect(runInfoOf(run)).toMatchObject({ status: 'finished', step: 600 });
    }, 300_000);
  }

  it('refuses a second train on a run in use; after the holder is SIGKILLed its stale lock does not block resume', async () => {
    const { run, proc, training } = await startTraining('locked', 300, {}, true);
    if (!training) expect.fail(`training never started:\n${(await proc.done).stderr}`);
    proc.child.kill('SIGSTOP'); // alive but frozen: the lock is held for as long as we need
    try {
      const second = await runCli(resume(run), { timeoutMs: 120_000 });
      expect(second.status, second.stderr).toBe(1);
      expect(second.stderr).toContain(`is in use by process ${proc.pid}`);
      expect(second.stderr).toMatch(/hint: .*LOCK/);
      expect(second.stderr).not.toMatch(STACK_LINE);
      expect(JSON.parse(fs.readFileSync(path.join(run, 'LOCK'), 'utf8')).pid).toBe(proc.pid);
    } finally {
      proc.child.kill('SIGKILL');
    }
    expect((await proc.done).signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(run, 'LOCK'))).toBe(true);
    const r = await runCli(resume(run), { timeoutMs: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(runInfoOf(run)).toMatchObject({ status: 'finished', step: 300 });
    expect(fs.existsSync(path.join(run, 'LOCK'))).toBe(false);
  }, 300_000);

  it('--resume takes no --set and needs an existing run', async () => {
    const withSet = await runCli(['train', '--resume', path.join(dir, 'runA'), '--set', 'train.lr=1e-4']);
    expect(withSet.status).toBe(1);
    expect(withSet.stderr).toMatch(/--set/);
    const missing = await runCli(resume(path.join(dir, 'no-such-run')));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no-such-run/);
    expect(missing.stderr).not.toMatch(STACK_LINE);
  });
});
