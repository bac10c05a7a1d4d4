import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeFakeRun } from '../io/fake-run.js';
import { FIXTURE_TRAIN, rmTmp, runCli, tmpDir, writeConfig } from '../helpers/cli.js';
import { randomWeights } from '../helpers/tensors.js';

const dir = tmpDir('sae-cli-lock-');
afterAll(() => rmTmp(dir));

describe('sae train --force on a run another process is training', () => {
  let holder: ChildProcess | undefined;
  afterEach(() => {
    if (holder?.exitCode === null) holder.kill('SIGKILL');
  });

  it('is refused before any file is touched, naming the pid, without suggesting --force or --resume', async () => {
    holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
    await new Promise((r) => holder!.once('spawn', r));
    const run = makeFakeRun(path.join(dir, 'live'), randomWeights(64, 128));
    fs.mkdirSync(path.join(run, 'checkpoints', 'step-00000010'), { recursive: true });
    fs.writeFileSync(path.join(run, 'metrics.jsonl'), '{"step":10}\n');
    const lock = JSON.stringify({ pid: holder.pid, host: os.hostname(), startedAt: '2024-01-02T03:04:05.000Z' });
    fs.writeFileSync(path.join(run, 'LOCK'), lock);
    const before = fs.readdirSync(run).sort();

    const cfg = writeConfig(dir, { data: { train: FIXTURE_TRAIN }, train: { steps: 2, batchSize: 64 } }, 'c.json');
    const r = await runCli(['train', '--config', cfg, '--out', run, '--force', '--backend', 'cpu']);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(`is in use by process ${holder.pid}`);
    expect(r.stderr).not.toMatch(/--force|--resume/);
    expect(fs.readdirSync(run).sort()).toEqual(before);
    expect(fs.readFileSync(path.join(run, 'LOCK'), 'utf8')).toBe(lock);
    expect(fs.existsSync(path.join(run, 'checkpoints', 'step-00000010'))).toBe(true);
  });

  it('takes over a lock left by a dead process and refuses the run without --force, leaving no LOCK', async () => {
    const run = makeFakeRun(path.join(dir, 'stale'), randomWeights(64, 128));
    fs.writeFileSync(path.join(run, 'LOCK'), JSON.stringify({ pid: 999999999, host: os.hostname(), startedAt: 'x' }));
    const cfg = writeConfig(dir, { data: { train: FIXTURE_TRAIN }, train: { steps: 2, batchSize: 64 } }, 'c2.json');
    const r = await runCli(['train', '--config', cfg, '--out', run, '--backend', 'cpu']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/already holds a run \(config\.json, run\.json/);
    expect(fs.existsSync(path.join(run, 'LOCK'))).toBe(false);
    expect(fs.existsSync(path.join(run, 'config.json'))).toBe(true);
  });
});
