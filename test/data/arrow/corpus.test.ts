import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED } from '../../helpers/shared.js';

/**
 * Every file of the Arrow IPC corpus (/work/shared/arrow-corpus, README.md there) through the
 * data layer in a child process with a per-file time limit: malformed files must give a clean
 * DataError, valid ones load or get the "no such column" error (none holds a float list),
 * big-endian ones are refused. A hang or crash kills the child, is recorded, and the child
 * restarts at the next file.
 */

const CORPUS = SHARED + '/arrow-corpus';
const REPO = path.resolve(__dirname, '../../..');
// Generous for a loaded CI machine; an endless loop never reports at all.
const PER_FILE_MS = 15_000;
const STARTUP_MS = 120_000;

interface Result {
  file: string;
  status: 'loaded' | 'error' | 'bug' | 'hang' | 'crash';
  ms?: number;
  message?: string;
  hint?: string;
}

function runChunk(files: string[]): Promise<Result[]> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO, 'node_modules/vite-node/vite-node.mjs'), path.join(__dirname, 'corpus-runner.ts'), ...files], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const results: Result[] = [];
    let current: string | null = null;
    let timer: NodeJS.Timeout | null = null;
    let buf = '';
    let stderr = '';
    const arm = (ms = PER_FILE_MS) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        if (current) results.push({ file: current, status: 'hang' });
        current = null;
        child.kill('SIGKILL');
      }, ms);
    };
    arm(STARTUP_MS);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('START ')) {
          current = line.slice(6);
          arm();
        } else if (line.startsWith('RESULT ')) {
          results.push(JSON.parse(line.slice(7)) as Result);
          current = null;
        }
      }
    });
    child.on('exit', () => {
      if (timer) clearTimeout(timer);
      if (current) results.push({ file: current, status: 'crash', message: stderr.slice(-500) });
      resolve(results);
    });
  });
}

async function runAll(files: string[]): Promise<Map<string, Result>> {
  const out = new Map<string, Result>();
  let rest = files;
  while (rest.length > 0) {
    for (const r of await runChunk(rest)) out.set(r.file, r);
    // A child that died before even starting its first file: count that file as a crash.
    if (!out.has(rest[0]!)) out.set(rest[0]!, { file: rest[0]!, status: 'crash' });
    rest = rest.filter((f) => !out.has(f));
  }
  return out;
}

const list = (sub: string) => fs.readdirSync(path.join(CORPUS, sub)).sort().map((f) => path.join(CORPUS, sub, f));

describe.skipIf(!fs.existsSync(CORPUS))('Arrow IPC corpus', () => {
  it('turns every malformed file into a clean DataError or a clean load, quickly', async () => {
    const files = [...list('fuzz-file'), ...list('fuzz-stream')];
    const results = await runAll(files);
    expect(results.size).toBe(files.length);
    const unclean = [...results.values()].filter((r) => r.status !== 'error' && r.status !== 'loaded');
    expect(unclean).toEqual([]);
    for (const r of results.values()) {
      if (r.status === 'error') {
        expect(r.message).toContain(path.basename(r.file));
        expect(r.hint).toBeTruthy();
      }
      expect(r.ms!).toBeLessThan(10_000);
    }
    // The file that sends apache-arrow's own reader into an endless loop.
    const loop = results.get(path.join(CORPUS, 'fuzz-file', 'clusterfuzz-testcase-minimized-arrow-ipc-file-fuzz-6240547580936192'))!;
    expect(loop.status).toBe('error');
  }, 240_000);

  it('handles the valid files of other implementations', async () => {
    const files = ['cpp-21.0.0', '1.0.0-littleendian', '1.0.0-bigendian', '2.0.0-compression'].flatMap((s) => list(`valid/${s}`));
    const results = await runAll(files);
    for (const r of results.values()) {
      expect(r.status, `${r.file}: ${r.message}`).toBe('error');
      if (r.file.endsWith('.json.gz')) expect(r.message).toContain('neither the ARROW1 magic nor an IPC message');
      else if (r.file.includes('bigendian')) expect(r.message).toContain('big-endian');
      else expect(r.message).toContain("no column 'activation'");
    }
    expect(results.size).toBe(files.length);
  }, 240_000);
});
