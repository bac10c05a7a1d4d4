import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCheckpoints, loadLatestCheckpoint } from '../../src/io/checkpoint/checkpoint.js';
import { FIXTURE_EVAL, FIXTURE_TRAIN, REPO, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';
import { parseSafetensors } from '../helpers/load-export.js';
import { float32Bits as bits } from '../helpers/bits.js';

// sae.architecture jumprelu end to end through the CLI: train (learned per-feature thresholds) on
// two worker threads, the same run on the dense reference, eval, export (SAELens jumprelu with
// `threshold`, dictionary_learning's JumpReluAutoEncoder), a bit-exact resume from a checkpoint
// (on the workers), and the config errors.

const dir = tmpDir('sae-cli-jumprelu-');
afterAll(() => rmTmp(dir));

function config(name: string, jumprelu: Record<string, unknown> = {}, extra: { sae?: Record<string, unknown>; train?: Record<string, unknown> } = {}) {
  return writeConfig(
    dir,
    {
      data: { train: FIXTURE_TRAIN, eval: FIXTURE_EVAL, shuffleBuffer: 4096 },
      sae: { expansion: 2, architecture: 'jumprelu', jumprelu: { initialThreshold: 0.5, bandwidth: 0.1, l0Coefficient: 0.05, ...jumprelu }, ...extra.sae },
      train: { steps: 30, batchSize: 256, logEvery: 10, lr: 0.01, workers: 2, ...extra.train },
      output: { dir: path.join(dir, 'runs'), topK: 3, checkpointEverySteps: 10, checkpointEveryMinutes: 0 },
    },
    `${name}.json`,
  );
}

const json = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
const run = path.join(dir, 'runs', 'jr');

describe('sae.architecture jumprelu', () => {
  beforeAll(async () => {
    const r = await runCli(['train', '--config', config('jr'), '--backend', 'wasm']);
    expect(r.status, r.stderr).toBe(0);
    // 'auto': every step on the two workers (dense slices at this L0, ~18% of the width; sparse below 15%), none on the reference.
    expect(r.stderr).toMatch(/^step 1: kernel (dense|sparse) x2 workers/m);
    expect(r.stderr).not.toMatch(/kernel (dense|sparse)$/m);
  }, 120_000);

  it('trains the same dictionary on the dense reference (train.kernel dense, one thread)', async () => {
    const r = await runCli(['train', '--config', config('jr-dense', {}, { train: { kernel: 'dense', workers: 0 } }), '--backend', 'wasm']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^step 1: kernel dense$/m);
    expect(r.stderr).not.toMatch(/kernel sparse/);
    // 30 steps apart only by float32 summation order.
    const [a, b] = [json(path.join(run, 'eval.json')), json(path.join(dir, 'runs', 'jr-dense', 'eval.json'))] as { l0: number; explainedVariance: number }[];
    expect(b.l0).toBeCloseTo(a!.l0, 1);
    expect(b.explainedVariance).toBeCloseTo(a!.explainedVariance, 3);
  }, 120_000);

  it('records the resolved architecture and writes the learned thresholds as SAELens jumprelu', () => {
    expect(json(path.join(run, 'run.json'))['architecture']).toEqual({
      name: 'jumprelu',
      penalty: 'step',
      l0Coefficient: 0.05,
      targetL0: null,
      bandwidth: 0.1,
      initialThreshold: 0.5,
      initialL0: null,
      tanhScale: null,
      warmupSteps: 0,
    });
    expect(json(path.join(run, 'cfg.json'))).toMatchObject({ architecture: 'jumprelu', activation_fn: 'relu' });
    const t = parseSafetensors(fs.readFileSync(path.join(run, 'sae_weights.safetensors'))).tensors['threshold']!;
    expect(t.shape).toEqual([128]);
    // Learned per feature: they moved from 0.5, each its own way, and equal exp(log_threshold) of the last checkpoint.
    expect(new Set(t.values).size).toBeGreaterThan(64);
    const last = loadLatestCheckpoint(run)!;
    expect(last.step).toBe(30);
    expect(Array.from(t.values)).toEqual(Array.from(last.weights.log_threshold!, (v) => Math.fround(Math.exp(v))));
    expect(last.adam.m.log_threshold).toHaveLength(128);
    const metrics = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(metrics.at(-1)).toMatchObject({ step: 30, l1Coefficient: 0.05 });
  });

  it('a sensible dictionary: sparse, reconstructing, and eval on other rows encodes with the thresholds', async () => {
    const ev = json(path.join(run, 'eval.json')) as { l0: number; explainedVariance: number; deadFraction: number };
    expect(ev.l0).toBeGreaterThan(2);
    expect(ev.l0).toBeLessThan(64);
    expect(ev.explainedVariance).toBeGreaterThan(0.3);
    const r = await runCli(['eval', run, '--data', FIXTURE_EVAL, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { metrics: { l0: number } }).metrics.l0).toBeCloseTo(ev.l0, 6);
    const f = await runCli(['features', run, '0']);
    expect(f.status, f.stderr).toBe(0);
  });

  it('exports SAELens with the threshold tensor; sparsify refuses with the reason', async () => {
    const out = path.join(dir, 'saelens');
    const e = await runCli(['export-dictionary', run, '--format', 'saelens', '--out', out]);
    expect(e.status, e.stderr).toBe(0);
    const back = parseSafetensors(fs.readFileSync(path.join(out, 'sae_weights.safetensors'))).tensors;
    const mine = parseSafetensors(fs.readFileSync(path.join(run, 'sae_weights.safetensors'))).tensors;
    expect(Array.from(back['threshold']!.values)).toEqual(Array.from(mine['threshold']!.values));
    const s = await runCli(['export-dictionary', run, '--format', 'sparsify', '--out', path.join(dir, 'sparsify')]);
    expect(s.status).toBe(1);
    expect(s.stderr).toMatch(/activation is JumpReLU \(a jumprelu or batchtopk run\), and sparsify only has TopK/);
  });

  const py = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import torch, numpy']).status === 0);
  it.skipIf(py === undefined)('scripts/to-dictionary-learning.py turns the run into a JumpReluAutoEncoder with its thresholds', () => {
    const out = path.join(dir, 'dl');
    const conv = spawnSync(py!, [path.join(REPO, 'scripts', 'to-dictionary-learning.py'), run, out], { encoding: 'utf8' });
    expect(conv.status, conv.stderr).toBe(0);
    expect((json(path.join(out, 'config.json'))['trainer'] as Record<string, unknown>)['dict_class']).toBe('JumpReluAutoEncoder');
    const read = spawnSync(py!, ['-c', `import torch, json; s = torch.load('${out}/ae.pt'); print(json.dumps(s['threshold'].tolist()))`], { encoding: 'utf8' });
    expect(read.status, read.stderr).toBe(0);
    const mine = parseSafetensors(fs.readFileSync(path.join(run, 'sae_weights.safetensors'))).tensors['threshold']!;
    expect(JSON.parse(read.stdout)).toEqual(Array.from(mine.values));
  });

  it('resumes bit-exactly from a checkpoint (log_threshold and its Adam moments included)', async () => {
    // The run stopped after its step-20 checkpoint: the copy without the step-30 one and the final files.
    const cut = path.join(dir, 'runs', 'cut');
    fs.cpSync(run, cut, { recursive: true });
    const newest = listCheckpoints(cut).at(-1)!;
    expect(newest.step).toBe(30);
    fs.rmSync(newest.dir, { recursive: true });
    for (const f of ['cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors', 'features.arrow', 'features.json', 'eval.json']) fs.rmSync(path.join(cut, f), { force: true });
    fs.writeFileSync(path.join(cut, 'run.json'), JSON.stringify({ ...json(path.join(cut, 'run.json')), status: 'interrupted', step: 20 }));
    const r = await runCli(['train', '--resume', cut]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming .* from step 20 of 30/);
    // The resumed steps run on the workers as the whole run's last ones did (log_threshold and its moments go to them and back).
    expect(r.stderr).toMatch(/^step 21: kernel (dense|sparse) x2 workers/m);
    const a = parseSafetensors(fs.readFileSync(path.join(run, 'sae_weights.safetensors'))).tensors;
    const b = parseSafetensors(fs.readFileSync(path.join(cut, 'sae_weights.safetensors'))).tensors;
    expect(Object.keys(b).sort()).toEqual(['W_dec', 'W_enc', 'b_dec', 'b_enc', 'threshold']);
    for (const k of Object.keys(a)) expect(bits(Float32Array.from(b[k]!.values)), k).toEqual(bits(Float32Array.from(a[k]!.values)));
    // Another architecture on resume is refused.
    const other = await runCli(['train', '--resume', cut, '--set', 'sae.architecture=topk']);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/--set sae\.architecture=topk: with --resume only train\.steps=N/);
  }, 120_000);
});

describe("jumprelu initialThreshold 'auto' (the default)", () => {
  it('starts every feature firing on targetL0 / m of the init sample, so L0 starts at the target and stays near it', async () => {
    const cfg = config('auto', { initialThreshold: 'auto', penalty: 'target-l0', targetL0: 8, l0Coefficient: 1 }, { train: { steps: 20, lr: 0.001 } });
    const r = await runCli(['train', '--config', cfg, '--backend', 'wasm']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^jumprelu: thresholds at step 0 set from \d+ sample rows so that each feature fires on 8\/128 of them \(initialThreshold 'auto'; median [\d.e-]+\), encoder scaled by [\d.e-]+ to fit their reconstruction$/m);
    const out = path.join(dir, 'runs', 'auto');
    expect(json(path.join(out, 'run.json'))['architecture']).toMatchObject({ initialThreshold: 'auto', initialL0: 8, targetL0: 8 });
    const metrics = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    // From thresholds at 0.5 the same run starts near L0 30 and falls; from 'auto' it starts at the target.
    for (const m of metrics) {
      expect(m['l0'], `step ${m['step']}`).toBeGreaterThan(5);
      expect(m['l0'], `step ${m['step']}`).toBeLessThan(12);
      expect(m['explainedVariance'], `step ${m['step']}`).toBeGreaterThan(0.3);
    }
  }, 120_000);
});

describe('jumprelu config errors from the CLI', () => {
  it('settings of another architecture: one paragraph naming the field, no run directory', async () => {
    // The rest of the refusals are unit tests (test/sae/architecture.test.ts).
    const cases: [string, string, RegExp][] = [
      ['k', config('k', {}, { sae: { k: 8 } }), /sae\.k: this setting belongs to topk\/batchtopk \(their sparsity is k\), but sae\.architecture is 'jumprelu'/],
      ['band', writeConfig(dir, { data: { train: FIXTURE_TRAIN }, sae: { architecture: 'topk', jumprelu: { bandwidth: 0.1 } } }, 'band.json'), /sae\.jumprelu: this setting belongs to jumprelu .* but sae\.architecture is 'topk'/],
    ];
    for (const [name, cfg, message] of cases) {
      const r = await runCli(['train', '--config', cfg]);
      expect(r.status, name).toBe(1);
      expect(r.stderr, name).toMatch(message);
      expect(r.stderr, name).not.toMatch(/\n\s+at /);
      expect(fs.existsSync(path.join(dir, 'runs', name)), name).toBe(false);
    }
  });
});
