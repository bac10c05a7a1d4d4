import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { computeFeatureStats } from '../../src/features/stats.js';
import { writeFeatureStats } from '../../src/features/table.js';
import type { FeatureOutputEffects } from '../../src/interventions/feature-effects.js';
import type { AttributionResult } from '../../src/interventions/attribute.js';
import type { SteerResult } from '../../src/interventions/steer.js';
import { FIXTURE_EVAL, rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { randomData, randomWeights } from '../helpers/tensors.js';
import { dumpSource, makeDump } from '../features/fixture.js';
import { makeFakeRun } from '../io/fake-run.js';
import { STORIES_260K } from '../model/model-files.js';

// `sae steer`, `sae attribute`, `sae features N --model` on a hand-built run (random dictionary of
// width 64 with statistics over random rows): the plumbing, output and errors; the numbers are
// checked on a trained dictionary in test/interventions/.
const dir = tmpDir('sae-interventions-cli-');
const weights = randomWeights(64, 256, 7);
const run = makeFakeRun(path.join(dir, 'run'), weights);
beforeAll(async () => {
  await initBackend('cpu');
  writeFeatureStats(run, await computeFeatureStats(weights, dumpSource(makeDump(randomData(200, 64, 3), 64), [64]), { topK: 3, contextTokens: 2, denseThreshold: 0.5 }));
});
afterAll(() => rmTmp(dir));

const common = ['--model', STORIES_260K, '--run', run, '--backend', 'wasm'];

/** One error paragraph on stderr, exit 1, no stack trace. */
async function fails(args: string[], message: RegExp): Promise<void> {
  const r = await runCli(args);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).toMatch(/\nhint: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).toMatch(message);
}

describe('sae steer', () => {
  it('prints the steered and unsteered continuations with the per-position KL, and JSON', async () => {
    const r = await runCli(['steer', ...common, '--prompt', 'Once upon a time', '--tokens', '8', '--add', '4=30', '--compare']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/add 4=30 at all positions \(BOS left alone\), greedy/);
    expect(r.stdout).toMatch(/^unsteered: Once upon a time/m);
    expect(r.stdout).toMatch(/^steered: {3}Once upon a time/m);
    expect(r.stdout).toMatch(/ {4}0 {2}"<s>" +0\.0000/);
    const j = await runCli(['steer', ...common, '--prompt', 'Once upon a time', '--tokens', '8', '--scale', '4=1', '--compare', '--json']);
    const res = JSON.parse(j.stdout) as SteerResult;
    expect(res.steered.ids).toEqual(res.unsteered!.ids);
    expect(res.promptKl!.map((k) => k.kl)).toEqual([0, 0, 0, 0, 0]);
    expect(res.edits).toEqual([{ kind: 'scale', feature: 4, value: 1 }]);
  });

  it('refuses a feature index out of range, an empty prompt and a run that does not fit the model', async () => {
    await fails(['steer', ...common, '--prompt', 'Hi', '--ablate', '256'], /feature 256 does not exist in .*: the dictionary has 256 features \(0-255\)/);
    await fails(['steer', ...common, '--prompt', '', '--ablate', '1'], /--prompt is empty/);
    const narrow = makeFakeRun(path.join(dir, 'narrow'), randomWeights(32, 64));
    await fails(['steer', '--model', STORIES_260K, '--run', narrow, '--prompt', 'Hi'], /width at blocks\.2\.hook_resid_post is 64, but the dictionary of .* has width 32/);
  });
});

describe('sae attribute', () => {
  it('prints a table of features with estimated and measured effects on the target', async () => {
    const r = await runCli(['attribute', ...common, '--prompt', 'Lily went to the park. She saw', '--top', '5', '--json']);
    expect(r.status).toBe(0);
    const res = JSON.parse(r.stdout) as AttributionResult;
    expect(res.rows).toHaveLength(5);
    expect(res.target.chosen).toBe('model');
    for (const row of res.rows) {
      expect(row.activation).toBeGreaterThan(0);
      expect(row.estimatedEffect).toBeCloseTo(-row.attribution, 9);
      expect(row.measuredEffect).not.toBeNull();
      expect(Array.isArray(row.topTokens)).toBe(true);
    }
    expect(res.rows[0]!.attribution).toBeGreaterThanOrEqual(res.rows[4]!.attribution);
    const t = await runCli(['attribute', ...common, '--prompt', 'Lily went to the park. She saw', '--target', ' Lily', '--top', '3']);
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/target: " Lily" \(given\), log p = -\d+\.\d{3}/);
    expect(t.stdout).toMatch(/feature +pos +token +activation +est\. dlogp +measured dlogp/);
  });

  it('explains a target that is not one token', async () => {
    await fails(['attribute', ...common, '--prompt', 'Lily went to the park.', '--target', ' Lily went'], /--target " Lily went" is not a single token of this model: it tokenizes as 3 tokens, " Lily" " w" "ent"/);
  });
});

describe('sae features N --model', () => {
  it("adds the feature's direct and measured output effects to its card", async () => {
    const r = await runCli(['features', run, '3', '--model', STORIES_260K, '--data', FIXTURE_EVAL, '--max-tokens', '300', '--backend', 'wasm']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^feature 3 of /);
    expect(r.stdout).toMatch(/output effects through stories260K\.gguf \(blocks\.2\.hook_resid_post\):/);
    expect(r.stdout).toMatch(/ {4}promotes {3}"/);
    expect(r.stdout).toMatch(/ablated where it fires|never fired in/);
    const j = await runCli(['features', run, '3', '--model', STORIES_260K, '--data', FIXTURE_EVAL, '--max-tokens', '300', '--backend', 'wasm', '--json']);
    const card = JSON.parse(j.stdout) as { index: number; outputEffects: FeatureOutputEffects };
    expect(card.index).toBe(3);
    expect(card.outputEffects.direct.promoted).toHaveLength(10);
    expect(card.outputEffects.measured.tokens).toBeGreaterThanOrEqual(300);
  });
});

describe('sae eval --model --interventions', () => {
  it('adds the features-vs-basis-directions comparison to the downstream report', async () => {
    const r = await runCli(['eval', run, '--model', STORIES_260K, '--data', FIXTURE_EVAL, '--context', '32', '--max-tokens', '100', '--interventions', '--intervention-positions', '2', '--backend', 'wasm']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/CE with SAE/);
    expect(r.stdout).toMatch(/features vs basis directions as handles at blocks\.2\.hook_resid_post of stories260K\.gguf: 2 positions sampled/);
    expect(r.stdout).toMatch(/top-5 share of \|dlogp\| +\d\.\d{3} \[/);
  });
});
