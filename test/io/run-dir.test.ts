import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunError } from '../../src/errors.js';
import { createRunDir, openRun, readFinalWeights, readRunInfo, writeRunInfo } from '../../src/io/run-dir.js';
import { rmTmp, tmpDir } from '../helpers/cli.js';
import { parseSafetensors } from '../helpers/load-export.js';
import { randomWeights } from '../helpers/tensors.js';
import { makeFakeRun, runInfo } from './fake-run.js';

function thrown(fn: () => unknown): RunError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RunError);
    return e as RunError;
  }
  throw new Error('expected a RunError');
}

describe('createRunDir', () => {
  const root = tmpDir();
  afterAll(() => rmTmp(root));

  it('creates a missing folder (and parents) and accepts an empty one', () => {
    const dir = path.join(root, 'a', 'b');
    createRunDir(dir, { force: false });
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    createRunDir(dir, { force: false });
  });

  it('refuses a folder holding a run unless forced, then clears only run files', () => {
    const dir = makeFakeRun(path.join(root, 'run'), randomWeights(4, 8));
    fs.mkdirSync(path.join(dir, 'checkpoints', 'step-00000010'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    fs.writeFileSync(path.join(dir, 'LOCK'), '{"pid":1}');
    const err = thrown(() => createRunDir(dir, { force: false }));
    expect(err.message).toBe(`${dir} already holds a run (config.json, run.json, cfg.json, checkpoints, ...).`);
    expect(err.hint).toContain('--force');
    expect(err.hint).toContain('--out DIR');
    expect(err.hint).toContain(`sae train --resume ${dir}`);
    createRunDir(dir, { force: true });
    expect(fs.readdirSync(dir).sort()).toEqual(['LOCK', 'notes.txt']);
  });

  it('says "not empty" for a folder of other files, and refuses a file', () => {
    const dir = path.join(root, 'other');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'x'), '');
    expect(thrown(() => createRunDir(dir, { force: false })).message).toBe(`${dir} is not empty (x).`);
    const file = path.join(root, 'afile');
    fs.writeFileSync(file, '');
    expect(thrown(() => createRunDir(file, { force: true })).message).toMatch(/is a file, not a folder/);
  });
});

describe('openRun and run.json', () => {
  const root = tmpDir();
  afterAll(() => rmTmp(root));

  it('opens a run and strips formatVersion from its config', () => {
    const w = randomWeights(4, 8);
    const dir = makeFakeRun(path.join(root, 'ok'), w);
    const run = openRun(dir);
    expect(run.dir).toBe(path.resolve(dir));
    expect(run.info).toEqual(runInfo(w));
    expect(run.config).toEqual({ data: { train: ['fixtures/a.arrow'] }, sae: { expansion: 2 } });
  });

  it('round-trips RunInfo and rejects damaged or newer ones', () => {
    const dir = path.join(root, 'info');
    fs.mkdirSync(dir);
    const info = runInfo({ d: 3, m: 6 }, { status: 'interrupted', reason: 'SIGINT' });
    writeRunInfo(dir, info);
    expect(readRunInfo(dir)).toEqual(info);
    fs.writeFileSync(path.join(dir, 'run.json'), '{"formatVersion": 1, "d": 3');
    expect(thrown(() => readRunInfo(dir)).message).toMatch(/run\.json is not valid JSON/);
    writeRunInfo(dir, { ...info, formatVersion: 99 });
    expect(thrown(() => readRunInfo(dir)).message).toMatch(/run format 99 is newer/);
    writeRunInfo(dir, { ...info, d: -1 });
    expect(thrown(() => readRunInfo(dir)).message).toMatch(/'d' must be a non-negative integer/);
  });

  it('explains paths that are missing, files, or not runs', () => {
    const missing = path.join(root, 'nope');
    expect(thrown(() => openRun(missing)).message).toBe(`${missing} does not exist.`);
    const file = path.join(root, 'f');
    fs.writeFileSync(file, '');
    expect(thrown(() => openRun(file)).message).toBe(`${file} is a file, not a run directory.`);
    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    const err = thrown(() => openRun(empty));
    expect(err.message).toBe(`${empty} is not a run directory (no run.json).`);
    expect(err.hint).toMatch(/sae train/);
  });
});

describe('final dictionary', () => {
  const root = tmpDir();
  afterAll(() => rmTmp(root));

  it('writes SAELens files that read back exactly', () => {
    const w = randomWeights(6, 12, 3);
    const dir = makeFakeRun(path.join(root, 'fin'), w);
    const st = parseSafetensors(fs.readFileSync(path.join(dir, 'sae_weights.safetensors')));
    expect(Object.keys(st.tensors).sort()).toEqual(['W_dec', 'W_enc', 'b_dec', 'b_enc']);
    expect(st.tensors['W_enc']!.shape).toEqual([6, 12]);
    expect(st.tensors['W_dec']!.shape).toEqual([12, 6]);
    expect(st.tensors['b_enc']!.shape).toEqual([12]);
    expect(st.tensors['b_dec']!.shape).toEqual([6]);
    expect(st.tensors['W_enc']!.values).toEqual(Array.from(w.W_enc));
    const sp = parseSafetensors(fs.readFileSync(path.join(dir, 'sparsity.safetensors')));
    expect(Object.keys(sp.tensors)).toEqual(['sparsity']);
    expect(sp.tensors['sparsity']).toMatchObject({ dtype: 'F32', shape: [12] });
    const back = readFinalWeights(dir);
    expect(back.weights).toEqual(w);
    expect(back.log10Density![1]).toBeCloseTo(-1.5);
    expect(back.cfg.d_in).toBe(6);
  });

  it('says what to do when the run has no dictionary yet', () => {
    const w = randomWeights(2, 4);
    const dir = makeFakeRun(path.join(root, 'unfinished'), w, { final: false, info: { status: 'interrupted' } });
    const err = thrown(() => readFinalWeights(dir));
    expect(err.message).toBe(`${dir} has no final dictionary (sae_weights.safetensors, cfg.json missing): the run interrupted before it finished.`);
    expect(err.hint).toContain(`sae train --resume ${dir}`);
  });
});
