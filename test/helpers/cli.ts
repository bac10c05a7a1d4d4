import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '../..');
export const BIN = path.join(REPO, 'bin', 'sae.js');

/** Run the real CLI (bin/sae.js -> dist/). */
export function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    env: { ...process.env, ...opts.env },
  });
}

/** A fresh temporary directory (removed by the caller with rmTmp). */
export function tmpDir(prefix = 'sae-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function rmTmp(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Write a JSON config file into dir and return its path. */
export function writeConfig(dir: string, config: unknown, name = 'config.json'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export const FIXTURE_TRAIN = path.join(REPO, 'fixtures', 'stories260k-L2-train-8k.arrow');
export const FIXTURE_EVAL = path.join(REPO, 'fixtures', 'stories260k-L2-eval-2k.arrow');
