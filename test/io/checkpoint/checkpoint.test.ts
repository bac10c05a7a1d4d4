import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CheckpointError, RunError } from '../../../src/errors.js';
import {
  assertSameConfig,
  checkpointDirName,
  configDigest,
  listCheckpoints,
  loadLatestCheckpoint,
  readCheckpoint,
  writeCheckpoint,
  type CheckpointState,
} from '../../../src/io/checkpoint/checkpoint.js';
import { PARAM_NAMES } from '../../../src/sae/params.js';
import { Rng } from '../../../src/util/rng.js';
import { randomWeights } from '../../helpers/tensors.js';

function makeState(step: number, seed = step): CheckpointState {
  const d = 6;
  const m = 10;
  const weights = randomWeights(d, m, seed);
  const rng = new Rng(seed);
  const moments = () =>
    Object.fromEntries(PARAM_NAMES.map((n) => [n, rng.fillNormal(new Float32Array(weights[n].length))])) as CheckpointState['adam']['m'];
  const gen = new Rng(seed + 1000);
  gen.normal(); // leaves a cached Box-Muller spare in the state
  return {
    step,
    tokens: step * 256,
    elapsedSeconds: step * 0.125 + 1 / 3,
    weights,
    adam: { t: step, m: moments(), v: moments() },
    inputScale: 0.7071067811865476,
    rng: { data: gen.state(), resample: new Rng(seed + 7).state() },
    components: {
      firing: { m, lastFired: Float64Array.from({ length: m }, (_, i) => (i * step) % 7) },
      data: { epoch: 0, batch: step, rowsConsumed: step * 256 },
      interval: { loss: Number.NaN, best: Number.POSITIVE_INFINITY, zero: -0, counts: Int32Array.of(-1, 2, 3), big: 2n ** 60n },
      history: [{ step: 5, dead: Uint32Array.of(1, 4) }],
    },
    configDigest: configDigest({ train: { seed: 1 }, step }),
  };
}

/** Bit patterns, so NaN payloads and -0 compare exactly. */
function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

function expectSameState(a: CheckpointState, b: CheckpointState): void {
  expect(a.step).toBe(b.step);
  expect(a.tokens).toBe(b.tokens);
  expect(a.elapsedSeconds).toBe(b.elapsedSeconds);
  expect(a.inputScale).toBe(b.inputScale);
  expect(a.configDigest).toBe(b.configDigest);
  expect(a.rng).toEqual(b.rng);
  expect(a.adam.t).toBe(b.adam.t);
  expect([a.weights.d, a.weights.m]).toEqual([b.weights.d, b.weights.m]);
  for (const n of PARAM_NAMES) {
    expect(bits(a.weights[n])).toEqual(bits(b.weights[n]));
    expect(bits(a.adam.m[n])).toEqual(bits(b.adam.m[n]));
    expect(bits(a.adam.v[n])).toEqual(bits(b.adam.v[n]));
  }
  expect(a.components).toEqual(b.components);
}

describe('checkpoints', () => {
  let run: string;
  beforeEach(() => {
    run = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-'));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    fs.rmSync(run, { recursive: true, force: true });
  });

  const ckptDir = (step: number) => path.join(run, 'checkpoints', checkpointDirName(step));

  it('round-trips every field exactly, including NaN, -0, typed arrays and bigints', () => {
    const state = makeState(120);
    state.weights.W_enc[0] = -0;
    state.weights.b_dec[1] = Number.NaN;
    const dir = writeCheckpoint(run, state, { keep: 3 });
    expect(dir).toBe(ckptDir(120));
    expect(fs.readdirSync(dir).sort()).toEqual(['manifest.json', 'state.json', 'tensors.safetensors']);
    const back = loadLatestCheckpoint(run);
    expect(back).not.toBeNull();
    expectSameState(back!, state);
    const c = back!.components as Record<string, Record<string, unknown>>;
    expect(c.firing!.lastFired).toBeInstanceOf(Float64Array);
    expect(Object.is(c.interval!.zero, -0)).toBe(true);
    expect(c.interval!.loss).toBeNaN();
    expect(c.interval!.big).toBe(2n ** 60n);
    expect(Object.is(back!.weights.W_enc[0], -0)).toBe(true);
  });

  it("jumprelu's log_threshold and its Adam moments round-trip exactly; other runs have none", () => {
    const state = makeState(30);
    const rng = new Rng(5);
    state.weights.log_threshold = rng.fillNormal(new Float32Array(10));
    state.adam.m.log_threshold = rng.fillNormal(new Float32Array(10));
    state.adam.v.log_threshold = rng.fillNormal(new Float32Array(10));
    writeCheckpoint(run, state, { keep: 3 });
    const back = loadLatestCheckpoint(run)!;
    for (const [a, b] of [
      [back.weights.log_threshold, state.weights.log_threshold],
      [back.adam.m.log_threshold, state.adam.m.log_threshold],
      [back.adam.v.log_threshold, state.adam.v.log_threshold],
    ] as const) expect(bits(a!)).toEqual(bits(b));
    writeCheckpoint(run, makeState(40), { keep: 3 });
    const plain = loadLatestCheckpoint(run)!;
    expect(plain.weights.log_threshold).toBeUndefined();
    expect(plain.adam.m.log_threshold).toBeUndefined();
  });

  it('no checkpoints: null and no warnings', () => {
    const warnings: string[] = [];
    expect(loadLatestCheckpoint(run, (w) => warnings.push(w))).toBeNull();
    expect(listCheckpoints(run)).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('keeps the newest K, oldest deleted first', () => {
    for (const step of [10, 20, 30, 40, 50]) writeCheckpoint(run, makeState(step), { keep: 2 });
    expect(listCheckpoints(run).map((e) => e.step)).toEqual([40, 50]);
    expect(loadLatestCheckpoint(run)!.step).toBe(50);
  });

  it('rewriting an earlier step replaces it and drops the abandoned later ones', () => {
    for (const step of [10, 20, 30]) writeCheckpoint(run, makeState(step), { keep: 3 });
    const again = makeState(20, 99);
    writeCheckpoint(run, again, { keep: 3 });
    expect(listCheckpoints(run).map((e) => e.step)).toEqual([10, 20]);
    expectSameState(loadLatestCheckpoint(run)!, again);
    expect(fs.readdirSync(path.join(run, 'checkpoints')).sort()).toEqual([checkpointDirName(10), checkpointDirName(20)]);
  });

  const corruptions: [string, (dir: string) => void, RegExp][] = [
    [
      'a flipped byte in the tensors',
      (dir) => {
        const f = path.join(dir, 'tensors.safetensors');
        const b = fs.readFileSync(f);
        b[b.length - 5]! ^= 0x10;
        fs.writeFileSync(f, b);
      },
      /tensors\.safetensors: checksum mismatch/,
    ],
    [
      'a truncated state.json',
      (dir) => {
        const f = path.join(dir, 'state.json');
        fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2));
      },
      /state\.json: \d+ bytes, expected \d+/,
    ],
    ['a deleted manifest', (dir) => fs.rmSync(path.join(dir, 'manifest.json')), /manifest\.json: missing/],
    ['a garbled manifest', (dir) => fs.writeFileSync(path.join(dir, 'manifest.json'), '{"step": 3'), /manifest\.json: not valid JSON/],
    ['a missing tensors file', (dir) => fs.rmSync(path.join(dir, 'tensors.safetensors')), /tensors\.safetensors: missing/],
  ];

  for (const [what, corrupt, reason] of corruptions) {
    it(`falls back to the previous checkpoint with a warning after ${what}`, () => {
      const older = makeState(10);
      writeCheckpoint(run, older, { keep: 3 });
      writeCheckpoint(run, makeState(20), { keep: 3 });
      corrupt(ckptDir(20));
      const warnings: string[] = [];
      const got = loadLatestCheckpoint(run, (w) => warnings.push(w));
      expectSameState(got!, older);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^checkpoint step-00000020 is corrupt \(/);
      expect(warnings[0]).toMatch(reason);
      expect(warnings[0]).toMatch(/; using step-00000010$/);
      expect(() => readCheckpoint(ckptDir(20))).toThrow(CheckpointError);
    });
  }

  it('all corrupt: null, one warning each', () => {
    writeCheckpoint(run, makeState(10), { keep: 3 });
    writeCheckpoint(run, makeState(20), { keep: 3 });
    for (const s of [10, 20]) fs.rmSync(path.join(ckptDir(s), 'manifest.json'));
    const warnings: string[] = [];
    expect(loadLatestCheckpoint(run, (w) => warnings.push(w))).toBeNull();
    expect(warnings).toHaveLength(2);
    for (const w of warnings) expect(w).toMatch(/is corrupt \(manifest\.json: missing\); no usable checkpoint is left/);
  });

  it('detects a manifest that belongs to another step', () => {
    writeCheckpoint(run, makeState(10), { keep: 3 });
    fs.renameSync(ckptDir(10), ckptDir(30));
    expect(() => readCheckpoint(ckptDir(30))).toThrow(/step 10 does not match the folder name/);
  });

  it('ignores leftover temporary directories and cleans up those of dead writers', () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const root = path.join(run, 'checkpoints');
    writeCheckpoint(run, makeState(10), { keep: 3 });
    const leftover = path.join(root, `${checkpointDirName(20)}.tmp-${dead}`);
    fs.mkdirSync(leftover);
    fs.writeFileSync(path.join(leftover, 'tensors.safetensors'), 'half a file');
    expect(listCheckpoints(run).map((e) => e.step)).toEqual([10]);
    expect(loadLatestCheckpoint(run)!.step).toBe(10);
    writeCheckpoint(run, makeState(20), { keep: 3 });
    expect(fs.readdirSync(root).sort()).toEqual([checkpointDirName(10), checkpointDirName(20)]);
  });

  it('disk full mid-write: RunError naming the file and reason; previous checkpoint intact, no temp dir', () => {
    const older = makeState(10);
    writeCheckpoint(run, older, { keep: 3 });
    let calls = 0;
    const real = fs.writeSync;
    vi.spyOn(fs, 'writeSync').mockImplementation(((...args: Parameters<typeof fs.writeSync>) => {
      calls += 1;
      if (calls === 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return (real as (...a: unknown[]) => number)(...args);
    }) as typeof fs.writeSync);
    let err: unknown;
    try {
      writeCheckpoint(run, makeState(20), { keep: 3 });
    } catch (e) {
      err = e;
    }
    vi.restoreAllMocks();
    expect(err).toBeInstanceOf(RunError);
    const e = err as RunError;
    expect(e.message).toMatch(/checkpoint at step 20 was not written: .*step-00000020\.tmp-\d+.*: cannot write: disk full/);
    expect(e.hint).toMatch(/Free some disk space/);
    expect(e.hint).toMatch(/previous checkpoint \(step-00000010\) is intact/);
    expect(fs.readdirSync(path.join(run, 'checkpoints'))).toEqual([checkpointDirName(10)]);
    expectSameState(loadLatestCheckpoint(run)!, older);
  });

  it('not writable (a parent is a regular file): RunError naming the path', () => {
    const file = path.join(run, 'not-a-dir');
    fs.writeFileSync(file, 'x');
    expect(() => writeCheckpoint(file, makeState(10), { keep: 3 })).toThrow(RunError);
    expect(() => writeCheckpoint(file, makeState(10), { keep: 3 })).toThrow(
      /checkpoint at step 10 was not written: .*not-a-dir.*a parent of this path is a file/,
    );
  });

  it('config digest: stable under key order, sensitive to values', () => {
    const a = { train: { lr: 1e-3, seed: 0 }, data: { train: ['a.arrow'], column: 'activation' } };
    const b = { data: { column: 'activation', train: ['a.arrow'] }, train: { seed: 0, lr: 1e-3 } };
    expect(configDigest(a)).toBe(configDigest(b));
    expect(configDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(configDigest({ ...a, train: { lr: 1e-3, seed: 1 } })).not.toBe(configDigest(a));
    expect(configDigest({ ...a, data: { train: ['b.arrow', 'a.arrow'], column: 'activation' } })).not.toBe(
      configDigest({ ...a, data: { train: ['a.arrow', 'b.arrow'], column: 'activation' } }),
    );
  });

  it('assertSameConfig refuses a different digest with a CheckpointError', () => {
    const s = makeState(10);
    expect(() => assertSameConfig(s, [s.configDigest], run)).not.toThrow();
    expect(() => assertSameConfig(s, [configDigest({ other: true }), s.configDigest], run)).not.toThrow();
    expect(() => assertSameConfig(s, [configDigest({ other: true })], run)).toThrow(CheckpointError);
  });
});
