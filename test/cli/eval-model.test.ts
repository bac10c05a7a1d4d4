import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelEvalReport } from '../../src/eval/evaluate-model.js';
import type { SaeWeights } from '../../src/sae/params.js';
import { FIXTURE_EVAL, REPO, rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { randomWeights } from '../helpers/tensors.js';
import { makeFakeRun } from '../io/fake-run.js';
import { STORIES_260K } from '../model/model-files.js';

const dir = tmpDir('sae-eval-model-');
afterAll(() => rmTmp(dir));

/** A dictionary that reconstructs exactly: features relu(x_i) and relu(-x_i), decoded back. */
function identityDictionary(d: number): SaeWeights {
  const m = 2 * d;
  const W_enc = new Float32Array(d * m);
  const W_dec = new Float32Array(m * d);
  for (let i = 0; i < d; i++) {
    W_enc[i * m + i] = 1;
    W_enc[i * m + d + i] = -1;
    W_dec[i * d + i] = 1;
    W_dec[(d + i) * d + i] = -1;
  }
  return { d, m, W_enc, b_enc: new Float32Array(m), W_dec, b_dec: new Float32Array(d) };
}

type Report = ModelEvalReport;

async function evalJson(run: string, extra: string[]): Promise<Report> {
  const r = await runCli(['eval', run, '--model', STORIES_260K, '--backend', 'wasm', '--json', ...extra]);
  expect(r.stderr).not.toMatch(/error/);
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

describe('sae eval --model', () => {
  it('scores a perfect dictionary 1 with no CE or KL cost, and a random one far worse', async () => {
    const perfect = makeFakeRun(path.join(dir, 'perfect'), identityDictionary(64));
    const p = await evalJson(perfect, ['--data', FIXTURE_EVAL, '--context', '128', '--max-tokens', '400']);
    expect(p.hook).toBe('blocks.2.hook_resid_post');
    expect(Math.abs(p.deltaCe)).toBeLessThan(1e-4);
    expect(p.klSae).toBeLessThan(1e-4);
    expect(p.ceLossScore!).toBeCloseTo(1, 4);
    expect(p.klDivScore!).toBeCloseTo(1, 4);
    expect(p.ceZero).toBeGreaterThan(p.ceMean);
    expect(p.ceMean).toBeGreaterThan(p.ceClean);

    const random = makeFakeRun(path.join(dir, 'random'), randomWeights(64, 256));
    const r = await evalJson(random, ['--data', FIXTURE_EVAL, '--context', '128', '--max-tokens', '400']);
    expect(r.ceClean).toBeCloseTo(p.ceClean, 6);
    expect(r.deltaCe).toBeCloseTo(r.ceSae - r.ceClean, 9);
    expect(r.ceLossScore!).toBeCloseTo((r.ceZero - r.ceSae) / (r.ceZero - r.ceClean), 9);
    expect(r.klDivScore!).toBeCloseTo((r.klZero - r.klSae) / r.klZero, 9);
    expect(r.ceLossScore!).toBeLessThan(0.9);
  });

  it('computes clean CE from text as llama.cpp does (BOS included: every predicted token)', async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(REPO, 'fixtures', 'reference', 'stories260k-llamacpp.json'), 'utf8')) as { logprobs: { text: string; logprobs: number[] }[] };
    const text = path.join(dir, 'ref.txt');
    fs.writeFileSync(text, ref.logprobs.map((l) => l.text.replaceAll('\n', ' ')).slice(0, 2).join('\n') + '\n');
    const all = ref.logprobs.slice(0, 2).flatMap((l) => l.logprobs);
    const expected = -all.reduce((s, x) => s + x, 0) / all.length;
    const run = path.join(dir, 'perfect');
    const r = await evalJson(run, ['--data', text, '--include-bos']);
    expect(r.tokens).toBe(all.length);
    expect(r.ceClean).toBeCloseTo(expected, 4);
  });

  it('names a width mismatch and a hook the model lacks', async () => {
    const narrow = makeFakeRun(path.join(dir, 'narrow'), randomWeights(32, 64));
    const w = await runCli(['eval', narrow, '--model', STORIES_260K, '--data', FIXTURE_EVAL, '--max-tokens', '50']);
    expect(w.status).toBe(1);
    expect(w.stderr).toMatch(/width at blocks\.2\.hook_resid_post is 64, but the dictionary has width 32/);
    const h = await runCli(['eval', path.join(dir, 'perfect'), '--model', STORIES_260K, '--data', FIXTURE_EVAL, '--hook', 'blocks.5.hook_resid_post']);
    expect(h.status).toBe(1);
    expect(h.stderr).toMatch(/there is no block 5/);
  });
});

describe('sae train with eval.model', () => {
  const config = path.join(REPO, 'configs', 'quickstart.json');

  it('writes the downstream metrics into eval.json at the end of the run', async () => {
    const run = path.join(dir, 'trained');
    const r = await runCli(['train', '-c', config, '--out', run, '--backend', 'wasm', '--set', 'train.steps=30', '--set', `eval.model=${STORIES_260K}`, '--set', 'eval.maxTokens=200', '--set', 'eval.context=64']);
    expect(r.status).toBe(0);
    const e = JSON.parse(fs.readFileSync(path.join(run, 'eval.json'), 'utf8')) as { explainedVariance: number; downstream: Report };
    expect(e.explainedVariance).toBeGreaterThan(0);
    expect(e.downstream.hook).toBe('blocks.2.hook_resid_post');
    expect(e.downstream.tokens).toBeGreaterThanOrEqual(200);
    expect(e.downstream.ceSae).toBeGreaterThan(e.downstream.ceClean);
    expect(e.downstream.ceLossScore).toBeGreaterThan(0);
  });

  it('refuses an eval.model it cannot run before training', async () => {
    const run = path.join(dir, 'never');
    const r = await runCli(['train', '-c', config, '--out', run, '--set', 'train.steps=30', '--set', `eval.model=${path.join(dir, 'missing.gguf')}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing\.gguf: cannot open the model file/);
    expect(fs.existsSync(run)).toBe(false);
  });
});
