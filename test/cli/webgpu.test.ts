import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCheckpoints } from '../../src/io/checkpoint/checkpoint.js';
import { readSafetensorsFile } from '../../src/io/safetensors.js';
import { sparseActivations, writeActivationShard } from '../helpers/arrow-shards.js';
import { metricsOf, runInfoOf, startCli, STACK_LINE, waitUntil } from '../helpers/cli-async.js';
import { rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';
import { RUN_WEBGPU } from '../helpers/webgpu.js';
import { float32Bits as bits } from '../helpers/bits.js';

/**
 * End to end on the WebGPU backend (lavapipe in CI: ~1 GFLOP/s, so the problem is tiny):
 * training with resampling against the cpu backend, a resume after SIGKILL that ends bit for bit
 * where the uninterrupted run does, statistics and exports of the run, and the refusals.
 */
const D = 16;
const dir = tmpDir('sae-webgpu-');
let trainFile = '';
let evalFile = '';
let cfg = '';

function config(name: string): string {
  return writeConfig(
    dir,
    {
      data: { train: trainFile, eval: evalFile, shuffleBuffer: 1024 },
      sae: { width: 64, l1: 3, bDecInit: 'mean', initSamples: 512 },
      train: { steps: 60, batchSize: 64, logEvery: 5, seed: 7, lr: 0.03 },
      resample: { every: 20, until: 45, deadWindow: 10, samples: 512 },
      output: { checkpointEverySteps: 5, checkpointEveryMinutes: 0, keepCheckpoints: 2, topK: 3 },
    },
    `${name}.json`,
  );
}

const train = (run: string, backend: string, extra: string[] = []) => ['train', '--config', cfg, '--out', run, '--backend', backend, ...extra];
const weightsOf = (run: string) => readSafetensorsFile(path.join(run, 'sae_weights.safetensors')).tensors;
const resampleEvents = (run: string) =>
  fs
    .readFileSync(path.join(run, 'resample.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.type === 'event');

beforeAll(() => {
  trainFile = path.join(dir, 'train.arrow');
  evalFile = path.join(dir, 'eval.arrow');
  writeActivationShard(trainFile, sparseActivations(4096, D, 1), D, 1024);
  writeActivationShard(evalFile, sparseActivations(512, D, 2), D, 512);
  cfg = config('tiny');
});
afterAll(() => rmTmp(dir));

describe.skipIf(!RUN_WEBGPU)('sae train --backend webgpu', () => {
  const gpuRun = path.join(dir, 'gpu');
  const cpuRun = path.join(dir, 'cpu');

  beforeAll(async () => {
    const [g, c] = await Promise.all([runCli(train(gpuRun, 'webgpu')), runCli(train(cpuRun, 'cpu', ['--set', 'train.kernel=dense']))]);
    expect(g.status, g.stderr).toBe(0);
    expect(c.status, c.stderr).toBe(0);
    expect(g.stderr).toMatch(/^backend: webgpu on .+, max tensor [\d.]+ MiB, max buffer [\d.]+ MiB$/m);
    // On a GPU the loop reads each step's statistics while the next step runs; the checks below show the numbers are unchanged.
    expect(g.stderr).toMatch(/^step 1: kernel dense \(statistics read while the next step runs\)$/m);
    expect(c.stderr).toMatch(/^step 1: kernel dense( x\d+ workers)?$/m);
  }, 300_000);

  it('records the backend and the adapter in run.json', () => {
    const info = runInfoOf(gpuRun)!;
    expect(info.status).toBe('finished');
    expect(info.backend).toBe('webgpu');
    expect(typeof info.device).toBe('string');
    expect(runInfoOf(cpuRun)!.device).toBeUndefined();
  });

  it('follows the cpu run step for step within float32 tolerance, resampling included', () => {
    const g = metricsOf(gpuRun);
    const c = metricsOf(cpuRun);
    expect(g.length).toBe(12);
    expect(g.map((r) => r.step)).toEqual(c.map((r) => r.step));
    for (let i = 0; i < g.length; i++) {
      for (const k of ['loss', 'mse', 'l0', 'explainedVariance'] as const) {
        const [a, b] = [g[i]![k] as number, c[i]![k] as number];
        expect(Math.abs(a - b), `${k} at step ${g[i]!.step}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(b)));
      }
    }
    const [ge, ce] = [resampleEvents(gpuRun), resampleEvents(cpuRun)];
    expect(ge.map((e) => [e.step, e.resampled])).toEqual(ce.map((e) => [e.step, e.resampled]));
    expect(ge.some((e) => (e.resampled as number) > 0)).toBe(true);
    const [gw, cw] = [weightsOf(gpuRun), weightsOf(cpuRun)];
    for (const [name, t] of Object.entries(gw)) {
      const a = t.data as Float32Array;
      const b = cw[name]!.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      expect(worst, name).toBeLessThan(2e-3);
    }
  });

  it('resumes after SIGKILL and ends bit for bit where the uninterrupted run ends', async () => {
    const run = path.join(dir, 'gpu-killed');
    const p = startCli(train(run, 'webgpu'));
    const started = await waitUntil(() => fs.existsSync(run) && listCheckpoints(run).length > 0, { proc: p, everyMs: 20, timeoutMs: 120_000 });
    expect(started).toBe(true);
    p.child.kill('SIGKILL');
    const killed = await p.done;
    expect(killed.signal).toBe('SIGKILL');
    // No --backend: the resumed run continues on the backend recorded in run.json.
    const r = await runCli(['train', '--resume', run]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming .* from step \d+ of 60/);
    expect(r.stderr).toMatch(/on webgpu \(resumed from step \d+\)/);
    expect(r.stderr).toMatch(/\(the backend this run was trained on\)/);
    const [a, b] = [weightsOf(gpuRun), weightsOf(run)];
    for (const name of Object.keys(a)) expect(bits(b[name]!.data as Float32Array), name).toEqual(bits(a[name]!.data as Float32Array));
  }, 300_000);

  it('computes statistics and evaluates on webgpu in agreement with the cpu backend, and exports the run', async () => {
    const out = (b: string) => path.join(dir, `features-${b}.arrow`);
    const [g, c] = await Promise.all(
      ['webgpu', 'cpu'].map((b) => runCli(['stats', gpuRun, '--data', evalFile, '--backend', b, '--out', out(b), '--json'])),
    );
    expect(g!.status, g!.stderr).toBe(0);
    expect(c!.status, c!.stderr).toBe(0);
    const [gs, cs] = [JSON.parse(g!.stdout), JSON.parse(c!.stdout)];
    expect(gs.backend).toBe('webgpu');
    expect(gs.summary.rows).toBe(512);
    expect(gs.summary.dead).toBe(cs.summary.dead);
    expect(gs.summary.neverFired).toBe(cs.summary.neverFired);
    expect(gs.summary.l0).toBeCloseTo(cs.summary.l0, 3);
    const [ge, ce] = await Promise.all(['webgpu', 'cpu'].map((b) => runCli(['eval', gpuRun, '--data', evalFile, '--backend', b, '--json'])));
    expect(ge!.status, ge!.stderr).toBe(0);
    const [gm, cm] = [JSON.parse(ge!.stdout), JSON.parse(ce!.stdout)];
    expect(gm.backend).toBe('webgpu');
    expect(gm.metrics.mse).toBeCloseTo(cm.metrics.mse, 4);
    expect(gm.metrics.l0).toBeCloseTo(cm.metrics.l0, 4);
    const e = await runCli(['export-dictionary', gpuRun, '--format', 'saelens', '--out', path.join(dir, 'export'), '--json']);
    expect(e.status, e.stderr).toBe(0);
  }, 120_000);

  it("refuses the host-loop sparse step, and a tensor larger than one GPU binding, before writing the run", async () => {
    const sparse = path.join(dir, 'sparse');
    const r = await runCli(train(sparse, 'webgpu', ['--set', 'train.kernel=sparse']));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/train\.kernel: 'sparse' runs its loops on the host/);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(fs.existsSync(sparse)).toBe(false);
    const wide = path.join(dir, 'wide');
    const w = await runCli(train(wide, 'webgpu', ['--set', 'sae.width=3000000']));
    expect(w.status).toBe(1);
    expect(w.stderr).toMatch(/the encoder weights W_enc \[16, 3000000\] is [\d.]+ MiB of float32, more than the GPU binds in one buffer/);
    expect(w.stderr).toMatch(/hint: Train a narrower dictionary \(sae\.width at most \d+\)/);
    expect(fs.existsSync(wide)).toBe(false);
  }, 120_000);
});

describe('sae train --backend webgpu without a usable driver', () => {
  it('fails with the reason and what to install, no stack trace', async () => {
    // Hide every Vulkan driver from the loader: Dawn finds no adapter.
    const r = await runCli(train(path.join(dir, 'none'), 'webgpu'), { env: { VK_ICD_FILENAMES: '/nonexistent.json', VK_DRIVER_FILES: '/nonexistent.json' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/backend 'webgpu' could not be initialised \(webgpu: (no WebGPU adapter|the optional package)/);
    expect(r.stderr).toMatch(/hint: WebGPU needs .* Vulkan on Linux/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});
