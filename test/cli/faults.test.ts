import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCheckpoints, readCheckpoint } from '../../src/io/checkpoint/checkpoint.js';
import { PARAM_NAMES } from '../../src/sae/params.js';
import { garbleRecordBatch, sparseActivations, writeActivationShard } from '../helpers/arrow-shards.js';
import { runInfoOf, STACK_LINE } from '../helpers/cli-async.js';
import { rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';

/** End to end: divergence, a shard that is corrupt past its first batches, an unwritable output. */
const D = 64;
const BATCH_ROWS = 512;
const dir = tmpDir('sae-faults-');
let goodShard = '';
let badShard = '';
let evalFile = '';

beforeAll(async () => {
  goodShard = path.join(dir, 'shard-0.arrow');
  badShard = path.join(dir, 'shard-1.arrow');
  evalFile = path.join(dir, 'eval.arrow');
  writeActivationShard(goodShard, sparseActivations(4096, D, 1), D, BATCH_ROWS);
  const bad = sparseActivations(4096, D, 2);
  writeActivationShard(badShard, bad, D, BATCH_ROWS);
  // Record batches 5..7 of 8 hold garbage (NaN bytes); the footer and headers stay valid,
  // so the shard opens fine and the damage shows only when training reaches it.
  for (const b of [5, 6, 7]) garbleRecordBatch(badShard, bad, D, BATCH_ROWS, b);
  writeActivationShard(evalFile, sparseActivations(1024, D, 3), D, 1024);
});
afterAll(async () => rmTmp(dir));

function config(name: string, over: { train?: object; data?: object; sae?: object; output?: object } = {}): string {
  return writeConfig(
    dir,
    {
      data: { train: [goodShard], eval: evalFile, shuffleBuffer: 512, ...over.data },
      sae: { width: 128, l1: 0.005, bDecInit: 'mean', initSamples: 1024, ...over.sae },
      train: { steps: 60, batchSize: 256, logEvery: 5, seed: 3, ...over.train },
      resample: { enabled: false },
      output: { checkpointEverySteps: 5, checkpointEveryMinutes: 0, keepCheckpoints: 3, topK: 3, ...over.output },
    },
    `${name}.json`,
  );
}

const train = (cfg: string, run: string, ...extra: string[]) =>
  runCli(['train', '--config', cfg, '--out', run, '--backend', 'wasm', ...extra], { timeoutMs: 240_000 });

/** Every checkpoint left in the run verifies and holds finite weights and moments. */
function expectCheckpointsGood(run: string): void {
  for (const { dir: ckpt } of listCheckpoints(run)) {
    const s = readCheckpoint(ckpt);
    for (const n of PARAM_NAMES) {
      for (const a of [s.weights[n], s.adam.m[n], s.adam.v[n]]) expect(a.every(Number.isFinite), `${ckpt} ${n}`).toBe(true);
    }
  }
}

describe('sae train: faults', () => {
  it('NaN/Inf: stops with exit 1, names the step and the term, suggests a lower lr; checkpoints stay good', async () => {
    const run = path.join(dir, 'nan');
    const r = await train(config('nan', { output: { checkpointEverySteps: 1 } }), run, '--set', 'train.lr=1e30');
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/error: .*step \d+/);
    expect(r.stderr).toMatch(/reconstruction|MSE|sparsity|L1|weights/i);
    expect(r.stderr).toMatch(/NaN|infinite|Inf/);
    expect(r.stderr).toMatch(/hint: .*train\.lr/);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(runInfoOf(run)).toMatchObject({ status: 'failed' });
    expectCheckpointsGood(run);
  });

  it('a shard corrupt in its later record batches: error names the file and the record batch; checkpoints kept', async () => {
    const run = path.join(dir, 'corrupt');
    const r = await train(config('corrupt', { data: { train: [goodShard, badShard] }, train: { steps: undefined, minTokens: 1 } }), run);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/error: .*shard-1\.arrow/);
    expect(r.stderr).toMatch(/record batch [5-7]\b/);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stderr).toMatch(/skipBadShards/);
    expect(runInfoOf(run)).toMatchObject({ status: 'failed' });
    expectCheckpointsGood(run);
  });

  it('data.skipBadShards=true: warns about the shard and finishes', async () => {
    const run = path.join(dir, 'skip');
    const r = await train(config('skip', { data: { train: [goodShard, badShard] }, train: { steps: undefined, minTokens: 1 } }), run, '--set', 'data.skipBadShards=true');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: .*shard-1\.arrow/);
    expect(runInfoOf(run)).toMatchObject({ status: 'finished' });
    expect(fs.existsSync(path.join(run, 'sae_weights.safetensors'))).toBe(true);
    expectCheckpointsGood(run);
  });

  it('an output folder that cannot be created: a clear error naming the path', async () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'not a folder');
    const r = await train(config('unwritable'), path.join(file, 'run'));
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/error: .*a-file/);
    expect(r.stderr).toMatch(/hint: /);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});
