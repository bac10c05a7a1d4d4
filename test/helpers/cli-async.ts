import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, REPO } from './cli.js';

export interface CliExit {
  /** Exit status, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

export interface RunningCli {
  child: ChildProcess;
  pid: number;
  startedAt: number;
  /** Resolves once the process has exited and been reaped. */
  done: Promise<CliExit>;
  exited(): boolean;
}

/** Start the real CLI without waiting for it (for signals and kills). */
export function startCli(args: string[], opts: { cwd?: string } = {}): RunningCli {
  const startedAt = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let finished = false;
  const done = new Promise<CliExit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      finished = true;
      resolve({ code, signal, stdout, stderr, ms: performance.now() - startedAt });
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${BIN}`);
  return { child, pid: child.pid, startedAt, done, exited: () => finished };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll until `ready()` is true; false if `proc` exits first or the timeout passes. */
export async function waitUntil(ready: () => boolean, opts: { proc?: RunningCli; timeoutMs?: number; everyMs?: number } = {}): Promise<boolean> {
  const end = performance.now() + (opts.timeoutMs ?? 120_000);
  while (performance.now() < end) {
    if (ready()) return true;
    if (opts.proc?.exited()) return ready();
    await sleep(opts.everyMs ?? 10);
  }
  return false;
}

/** Records of a run's metrics.jsonl (a truncated last line is ignored). */
export function metricsOf(runDir: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // an interrupted append
    }
  }
  return out;
}

/** run.json of a run, or null. */
export function runInfoOf(runDir: string): Record<string, unknown> | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** A stack trace line in CLI output means an unexplained error. */
export const STACK_LINE = /\n\s+at .*:\d+:\d+/;
