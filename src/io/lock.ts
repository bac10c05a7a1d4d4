import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunError } from '../errors.js';
import { fsError } from './atomic.js';
import { runFile } from './run-layout.js';

/** Contents of `<run>/LOCK`. */
export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

export interface RunLock {
  readonly file: string;
  readonly info: LockInfo;
  /** Remove the lock file if it is still ours; safe to call more than once. */
  release(): void;
}

/**
 * A lock file that cannot be parsed is either being written right now (the writer creates it
 * and then fills it) or was left by a crash between the two; only the second is safe to take.
 */
const UNPARSEABLE_GRACE_MS = 10_000;

/** Lock files this process holds (absolute paths). */
const heldHere = new Set<string>();

/** True if a process with this pid exists on this machine (EPERM: exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.startedAt === 'string') {
      return { pid: v.pid, host: v.host, startedAt: v.startedAt };
    }
  } catch {
    // fall through: not a lock we wrote
  }
  return null;
}

function readLock(file: string): { info: LockInfo | null; ageMs: number; text: string } | null {
  try {
    const text = fs.readFileSync(file, 'utf8');
    const ageMs = Date.now() - fs.statSync(file).mtimeMs;
    return { info: parseLock(text), ageMs, text };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fsError(err, file, 'read the lock file');
  }
}

/** Create the lock file exclusively; false if it already exists. */
function tryCreate(file: string, info: LockInfo): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fsError(err, file, 'create the lock file');
  }
  try {
    fs.writeSync(fd, JSON.stringify(info) + '\n');
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw fsError(err, file, 'write the lock file');
  }
  fs.closeSync(fd);
  return true;
}

/**
 * Take `<run>/LOCK` for this process. Refuses (RunError) while a live process on this host holds
 * it; a lock left by a dead process (or an unreadable one older than a few seconds) is taken over.
 * A lock from another host is respected: we cannot tell whether that process is alive.
 */
export function acquireRunLock(runDir: string): RunLock {
  const file = runFile(runDir, 'lock');
  const info: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
  // Two rounds: a stale lock is removed once, then the exclusive create decides between racers.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(file, info)) return makeLock(file, info);
    const held = readLock(file);
    if (held === null) continue; // released between our create and read
    if (held.info === null) {
      if (held.ageMs < UNPARSEABLE_GRACE_MS) throw inUse(runDir, file, null);
    } else if (held.info.host !== info.host) {
      throw inUse(runDir, file, held.info);
    } else if (held.info.pid === process.pid) {
      // Our own pid: either we hold it, or a dead process that had our pid (containers reuse pids) left it.
      if (heldHere.has(path.resolve(file))) {
        throw new RunError(
          `${runDir} is already locked by this process (pid ${process.pid}).`,
          'Release the earlier lock before training in this run directory again.',
        );
      }
    } else if (processAlive(held.info.pid)) {
      throw inUse(runDir, file, held.info);
    }
    removeIfUnchanged(file, held.text);
  }
  throw new RunError(
    `${runDir}: could not take the lock ${file}; another process keeps creating it.`,
    `Check that no other sae process trains in ${runDir}, then try again.`,
  );
}

function inUse(runDir: string, file: string, held: LockInfo | null): RunError {
  if (held === null) {
    return new RunError(
      `${runDir} is in use: ${file} exists but is being written or is unreadable.`,
      `Wait a few seconds and try again; if no sae process uses this run, delete ${file}.`,
    );
  }
  const where = held.host === os.hostname() ? `process ${held.pid}` : `process ${held.pid} on host ${held.host}`;
  return new RunError(
    `${runDir} is in use by ${where} (started ${held.startedAt}).`,
    `Wait for it, or stop it; if that process is gone, delete ${file}.`,
  );
}

/** Delete a stale lock, unless someone replaced it since we read it. */
function removeIfUnchanged(file: string, text: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === text) fs.rmSync(file, { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(err, file, 'remove the stale lock file');
  }
}

function makeLock(file: string, info: LockInfo): RunLock {
  const mine = JSON.stringify(info) + '\n';
  const key = path.resolve(file);
  heldHere.add(key);
  let released = false;
  return {
    file,
    info,
    release(): void {
      if (released) return;
      released = true;
      heldHere.delete(key);
      try {
        if (fs.readFileSync(file, 'utf8') === mine) fs.rmSync(file, { force: true });
      } catch {
        // Already gone, or the run directory was removed: nothing of ours to release.
      }
    },
  };
}
