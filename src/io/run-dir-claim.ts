import fs from 'node:fs';
import { RunError } from '../errors.js';
import { fsError } from './atomic.js';
import { acquireRunLock, type RunLock } from './lock.js';
import { createRunDir } from './run-dir.js';

/**
 * Lock `dir` for this process, then (for a new run) make it ready with createRunDir. The lock
 * comes first so that `--force` can never clear the files of a run another process is training:
 * a live owner refuses us, naming its pid, before anything is touched.
 */
export function claimRunDir(dir: string, opts: { fresh: boolean; force: boolean }): RunLock {
  if (opts.fresh) {
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
      throw new RunError(`${dir} is a file, not a folder.`, 'Choose another run directory with --out DIR.');
    }
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw fsError(err, dir, 'create the run directory');
    }
  }
  const lock = acquireRunLock(dir);
  try {
    if (opts.fresh) createRunDir(dir, { force: opts.force });
  } catch (err) {
    lock.release();
    throw err;
  }
  return lock;
}
