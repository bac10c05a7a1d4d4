import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_EVAL, FIXTURE_TRAIN, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';

const dir = tmpDir('sae-cli-json-');
afterAll(() => rmTmp(dir));
const run = path.join(dir, 'runs', 'j');

beforeAll(async () => {
  const cfg = writeConfig(dir, {
    data: { train: FIXTURE_TRAIN, eval: FIXTURE_EVAL, shuffleBuffer: 2048 },
    sae: { expansion: 2, l1: 1 },
    train: { steps: 10, batchSize: 256, logEvery: 5, workers: 0 },
    resample: { enabled: false },
    output: { dir: path.join(dir, 'runs'), name: 'j', topK: 3 },
  });
  const r = await runCli(['train', '--config', cfg, '--backend', 'cpu', '--json']);
  expect(r.status, r.stderr).toBe(0);
  fs.writeFileSync(path.join(dir, 'train-stdout.json'), r.stdout);
  expect(r.stderr).toMatch(/step 10\/10/);
}, 120_000);

describe('sae train --json', () => {
  it('prints the final summary as one JSON document on stdout', () => {
    const s = JSON.parse(fs.readFileSync(path.join(dir, 'train-stdout.json'), 'utf8'));
    expect(s).toMatchObject({ runDir: run, backend: 'cpu', steps: 10, tokens: 2560, resumedFrom: null });
    expect(s.heldOut.rows).toBe(2048);
    expect(typeof s.heldOut.explainedVariance).toBe('number');
    expect(s.last.step).toBe(10);
    expect(Array.isArray(s.warnings)).toBe(true);
  });
});

describe('hints name only options that exist', () => {
  it('a missing activation column: train is told about data.column, and eval takes --column', async () => {
    const cfg = writeConfig(dir, { data: { train: FIXTURE_TRAIN, column: 'resid' } }, 'badcol.json');
    const t = await runCli(['train', '--config', cfg]);
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/hint: Name the column holding the activations: data\.column in the config \(sae train --set data\.column=NAME\)/);
    expect(t.stderr).not.toMatch(/\(or --column\)/);
    const e = await runCli(['eval', run, '--data', FIXTURE_EVAL, '--column', 'resid', '--backend', 'cpu']);
    expect(e.status).toBe(1);
    expect(e.stderr).toMatch(/no column 'resid'/);
    const ok = await runCli(['eval', run, '--data', FIXTURE_EVAL, '--column', 'activation', '--backend', 'cpu', '--max-rows', '256']);
    expect(ok.status, ok.stderr).toBe(0);
  });
});

describe('SAELens export: the hook is what the data says', () => {
  it('metadata without a hook: hook_name unknown with a warning; --hook-name sets it', async () => {
    // A copy of the run whose data named only model and layer.
    const bare = path.join(dir, 'bare');
    fs.cpSync(run, bare, { recursive: true });
    const info = JSON.parse(fs.readFileSync(path.join(bare, 'run.json'), 'utf8'));
    fs.writeFileSync(path.join(bare, 'run.json'), JSON.stringify({ ...info, dataMetadata: { model: 'gpt2', layer: '3' } }));
    const a = await runCli(['export-dictionary', bare, '--format', 'saelens', '--out', path.join(dir, 'sl-a')]);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/warning: the data's metadata names no hook \(it has: model, layer\), so hook_name is 'unknown'; give it with --hook-name/);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'sl-a', 'cfg.json'), 'utf8')).hook_name).toBe('unknown');
    const b = await runCli(['export-dictionary', bare, '--format', 'saelens', '--out', path.join(dir, 'sl-b'), '--hook-name', 'blocks.3.hook_mlp_out']);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stderr).not.toMatch(/warning/);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'sl-b', 'cfg.json'), 'utf8'));
    expect(cfg.hook_name).toBe('blocks.3.hook_mlp_out');
    expect(cfg.metadata.hook_name).toBe('blocks.3.hook_mlp_out');
  });
});
