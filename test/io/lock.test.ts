import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunError } from '../../src/errors.js';
import { acquireRunLock, processAlive } from '../../src/io/lock.js';

function writeLock(run: string, info: object | string): string {
  const file = path.join(run, 'LOCK');
  fs.writeFileSync(file, typeof info === 'string' ? info : JSON.stringify(info));
  return file;
}

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

describe('run lock', () => {
  let run: string;
  let child: ChildProcess | undefined;
  beforeEach(() => {
    run = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-'));
  });
  afterEach(() => {
    if (child?.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
    fs.rmSync(run, { recursive: true, force: true });
  });

  it('writes pid, host and start time; a second acquire is refused while held; release frees it', () => {
    const lock = acquireRunLock(run);
    const info = JSON.parse(fs.readFileSync(path.join(run, 'LOCK'), 'utf8'));
    expect(info).toMatchObject({ pid: process.pid, host: os.hostname() });
    expect(Number.isNaN(Date.parse(info.startedAt))).toBe(false);
    expect(() => acquireRunLock(run)).toThrow(RunError);
    lock.release();
    expect(fs.existsSync(path.join(run, 'LOCK'))).toBe(false);
    lock.release(); // idempotent
    const again = acquireRunLock(run);
    again.release();
  });

  it('refuses while a live process holds it, naming the process and how to recover', async () => {
    child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await new Promise((r) => child!.once('spawn', r));
    const file = writeLock(run, { pid: child.pid, host: os.hostname(), startedAt: '2024-01-02T03:04:05.000Z' });
    let err: unknown;
    try {
      acquireRunLock(run);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunError);
    expect((err as RunError).message).toBe(`${run} is in use by process ${child.pid} (started 2024-01-02T03:04:05.000Z).`);
    expect((err as RunError).hint).toBe(`Wait for it, or stop it; if that process is gone, delete ${file}.`);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(child.pid);
  });

  it('takes over a lock left by a dead process', () => {
    const pid = deadPid();
    expect(processAlive(pid)).toBe(false);
    writeLock(run, { pid, host: os.hostname(), startedAt: new Date().toISOString() });
    const lock = acquireRunLock(run);
    expect(JSON.parse(fs.readFileSync(path.join(run, 'LOCK'), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('takes over a lock with our own pid that this process does not hold (pid reused after a crash)', () => {
    writeLock(run, { pid: process.pid, host: os.hostname(), startedAt: '2020-01-01T00:00:00.000Z' });
    const lock = acquireRunLock(run);
    expect(lock.info.startedAt).not.toBe('2020-01-01T00:00:00.000Z');
    lock.release();
  });

  it('an unreadable lock: refused while fresh (being written), taken over when old', () => {
    const file = writeLock(run, '');
    expect(() => acquireRunLock(run)).toThrow(/being written or is unreadable/);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    const lock = acquireRunLock(run);
    lock.release();
  });

  it('respects a lock held on another host', () => {
    writeLock(run, { pid: deadPid(), host: `not-${os.hostname()}`, startedAt: '2024-01-01T00:00:00.000Z' });
    expect(() => acquireRunLock(run)).toThrow(/in use by process \d+ on host not-/);
  });

  it('release leaves a lock that is no longer ours', () => {
    const lock = acquireRunLock(run);
    const file = writeLock(run, { pid: 1, host: os.hostname(), startedAt: '2024-01-01T00:00:00.000Z' });
    lock.release();
    expect(fs.existsSync(file)).toBe(true);
  });

  it('a run directory that does not exist: RunError naming the lock path', () => {
    expect(() => acquireRunLock(path.join(run, 'missing'))).toThrow(/missing[/\\]LOCK: cannot create the lock file/);
  });
});
