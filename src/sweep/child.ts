import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fsError } from '../io/atomic.js';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  /** The last `error: ...` line the child printed, if any. */
  lastError: string | null;
}

/**
 * Run a command with stdout and stderr appended to `logFile`; resolve when it exits. Each run of
 * a sweep is its own process so a crash or a leak in one cannot affect the others.
 */
export function runTrainChild(command: string, args: string[], logFile: string): Promise<ChildResult> {
  let fd: number;
  try {
    fd = fs.openSync(logFile, 'a');
  } catch (err) {
    throw fsError(err, logFile, 'open the log');
  }
  fs.writeSync(fd, `\n# ${new Date().toISOString()} ${args.join(' ')}\n`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastError: string | null = null;
    let tail = '';
    const sink = (chunk: Buffer): void => {
      fs.writeSync(fd, chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4096);
      const m = [...tail.matchAll(/^error: (.*)$/gm)].pop();
      if (m) lastError = m[1]!.trim();
    };
    child.stdout.on('data', sink);
    child.stderr.on('data', sink);
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return; // 'error' may be followed by 'close'
      done = true;
      fs.closeSync(fd);
      resolve({ code, signal, seconds: (Date.now() - started) / 1000, lastError });
    };
    child.on('error', (err) => {
      lastError = err.message;
      finish(null, null);
    });
    child.on('close', finish);
  });
}
