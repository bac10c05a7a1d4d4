import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_EVAL, FIXTURE_TRAIN, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';
import { parseSafetensors } from '../helpers/load-export.js';

// TopK and BatchTopK end to end through the CLI: train, eval, features, export (SAELens and
// sparsify), and the config errors of the architecture settings.

const dir = tmpDir('sae-cli-arch-');
afterAll(() => rmTmp(dir));

function config(sae: Record<string, unknown>, name: string, train: Record<string, unknown> = {}) {
  return writeConfig(
    dir,
    {
      data: { train: FIXTURE_TRAIN, eval: FIXTURE_EVAL, shuffleBuffer: 4096 },
      sae: { expansion: 2, ...sae },
      train: { steps: 30, batchSize: 256, logEvery: 10, lr: 0.01, workers: 0, ...train },
      output: { dir: path.join(dir, 'runs'), topK: 3, checkpointEverySteps: 10 },
    },
    `${name}.json`,
  );
}

const json = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;

describe('sae.architecture topk', () => {
  const run = path.join(dir, 'runs', 'topk');
  beforeAll(async () => {
    const r = await runCli(['train', '--config', config({ architecture: 'topk', k: 8, auxK: { deadTokens: 1024 } }, 'topk'), '--backend', 'wasm']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^resampling: off$/m);
    expect(r.stderr).toMatch(/no firing in the last 4 steps \(the AuxK window, sae\.auxK\.deadTokens\)/);
    expect(r.stderr).toMatch(/step 30\/30 .* L0 8\.0 /);
  }, 120_000);

  it('records the architecture in run.json and the dictionary as SAELens topk with k', () => {
    expect(json(path.join(run, 'run.json'))['architecture']).toMatchObject({ name: 'topk', k: 8, auxK: { k: 32, coefficient: 1 / 32, deadSteps: 4 } });
    expect(json(path.join(run, 'config.json'))['sae']).toMatchObject({ architecture: 'topk', k: 8 });
    expect(json(path.join(run, 'cfg.json'))).toMatchObject({ architecture: 'topk', k: 8, activation_fn: 'topk', activation_fn_kwargs: { k: 8 } });
    expect(json(path.join(run, 'eval.json'))['l0']).toBe(8);
  });

  it('eval and stats encode with TopK (L0 = k on other rows too)', async () => {
    const r = await runCli(['eval', run, '--data', FIXTURE_TRAIN, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ metrics: { l0: 8 } });
    const f = await runCli(['features', run, '0']);
    expect(f.status, f.stderr).toBe(0);
  });

  it('exports sparsify: a folder per hook, encoder [m, d], cfg with k; and refuses a ReLU run', async () => {
    const out = path.join(dir, 'sparsify');
    const r = await runCli(['export-dictionary', run, '--format', 'sparsify', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const hook = path.join(out, 'blocks.2.hook_resid_post');
    expect(fs.readdirSync(hook).sort()).toEqual(['cfg.json', 'sae.safetensors']);
    expect(json(path.join(hook, 'cfg.json'))).toMatchObject({ activation: 'topk', k: 8, num_latents: 128, d_in: 64, normalize_decoder: true, multi_topk: false, skip_connection: false, transcode: false });
    const st = parseSafetensors(fs.readFileSync(path.join(hook, 'sae.safetensors')));
    expect(Object.fromEntries(Object.entries(st.tensors).map(([k, t]) => [k, t.shape]))).toEqual({ 'encoder.weight': [128, 64], 'encoder.bias': [128], W_dec: [128, 64], b_dec: [64] });
    const w = parseSafetensors(fs.readFileSync(path.join(run, 'sae_weights.safetensors')));
    // encoder.weight is W_enc transposed; W_dec as is.
    expect(st.tensors['encoder.weight']!.values[1 * 64 + 3]).toBe(w.tensors['W_enc']!.values[3 * 128 + 1]);
    expect(st.tensors['W_dec']!.values).toEqual(w.tensors['W_dec']!.values);
  });

  it('resuming with another architecture is refused', async () => {
    const r = await runCli(['train', '--resume', run, '--set', 'sae.architecture=relu']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--set sae\.architecture=relu: with --resume only train\.steps=N/);
  });
});

describe('sae.architecture batchtopk', () => {
  it('trains with L0 = k per batch and exports a JumpReLU at its running threshold (SAELens, float32 sparsity with --dtype float16)', async () => {
    const r = await runCli(['train', '--config', config({ architecture: 'batchtopk', k: 8 }, 'batchtopk'), '--backend', 'wasm']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/step 30\/30 .* L0 8\.0 /);
    const run = path.join(dir, 'runs', 'batchtopk');
    expect(json(path.join(run, 'cfg.json'))).toMatchObject({ architecture: 'jumprelu', activation_fn: 'relu' });
    const w = parseSafetensors(fs.readFileSync(path.join(run, 'sae_weights.safetensors')));
    const t = w.tensors['threshold']!;
    expect(t.shape).toEqual([128]);
    expect(t.values[0]).toBeGreaterThan(0);
    expect(new Set(t.values).size).toBe(1);
    // The held-out L0 comes from the threshold, not from a batch selection: near k, not exactly.
    const l0 = json(path.join(run, 'eval.json'))['l0'] as number;
    expect(l0).toBeGreaterThan(2);
    expect(l0).toBeLessThan(40);
    const out = path.join(dir, 'btk-saelens');
    const e = await runCli(['export-dictionary', run, '--format', 'saelens', '--dtype', 'float16', '--out', out]);
    expect(e.status, e.stderr).toBe(0);
    expect(parseSafetensors(fs.readFileSync(path.join(out, 'sae_weights.safetensors'))).tensors['threshold']).toMatchObject({ dtype: 'F16', shape: [128] });
    expect(parseSafetensors(fs.readFileSync(path.join(out, 'sparsity.safetensors'))).tensors['sparsity']).toMatchObject({ dtype: 'F32', shape: [128] });
    const s = await runCli(['export-dictionary', run, '--format', 'sparsify', '--out', path.join(dir, 'btk-sparsify')]);
    expect(s.status).toBe(1);
    expect(s.stderr).toMatch(/JumpReLU \(a jumprelu or batchtopk run\), and sparsify only has TopK/);
  }, 120_000);
});

describe("sae.encoderInit 'fit' (topk, batchtopk)", () => {
  it('scales the encoder so the first reconstructions fit: better from the first steps than the tied encoder', async () => {
    const ev: Record<string, { step10: number; heldOut: number }> = {};
    for (const [name, sae] of [
      ['tied', { architecture: 'topk', k: 32 }],
      ['fit', { architecture: 'topk', k: 32, encoderInit: 'fit' }],
      ['fit-batch', { architecture: 'batchtopk', k: 32, encoderInit: 'fit' }],
    ] as const) {
      const r = await runCli(['train', '--config', config(sae, `encoder-${name}`, { steps: 20, lr: 0.001, workers: 2 }), '--backend', 'wasm']);
      expect(r.status, r.stderr).toBe(0);
      if (name === 'tied') expect(r.stderr).not.toMatch(/encoder scaled/);
      else expect(r.stderr).toMatch(/^encoder scaled by 0\.\d+ to fit the reconstruction of \d+ sample rows at k = 32 \(sae\.encoderInit 'fit'\)$/m);
      const run = path.join(dir, 'runs', `encoder-${name}`);
      const metrics = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
      ev[name] = { step10: metrics[0]!['explainedVariance']!, heldOut: json(path.join(run, 'eval.json'))['explainedVariance'] as number };
    }
    // Measured: explained variance 0.26 at step 10 tied, 0.54 fitted; held out after 20 steps 0.53 against 0.66.
    expect(ev['fit']!.step10).toBeGreaterThan(ev['tied']!.step10 + 0.15);
    expect(ev['fit']!.heldOut).toBeGreaterThan(ev['tied']!.heldOut + 0.05);
    expect(ev['fit-batch']!.step10).toBeGreaterThan(ev['tied']!.step10 + 0.15);
  }, 180_000);

  it('belongs to topk and batchtopk', async () => {
    const r = await runCli(['train', '--config', config({ architecture: 'relu', encoderInit: 'fit' }, 'encoder-relu')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/sae\.encoderInit: this setting belongs to topk\/batchtopk \(the scale of their encoder at step 0\), but sae\.architecture is 'relu'/);
  });
});

describe('architecture config errors from the CLI', () => {
  it('k not below the width, and sae.l1 with topk: one paragraph naming the field, no run directory', async () => {
    let r = await runCli(['train', '--config', config({ architecture: 'topk', k: 128 }, 'bigk')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/sae\.k = 128 is not below the dictionary width m = 128/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(dir, 'runs', 'bigk'))).toBe(false);
    r = await runCli(['train', '--config', config({ architecture: 'topk', l1: 1 }, 'l1topk')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/sae\.l1: this setting belongs to relu/);
  });
});
