import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { allocatorCandidates, choosePeerAllocator, formatAllocChoice, peerStepYardstick, type Allocator } from '../../../src/bench/whole-run/peer-alloc.js';
import { peerEnv } from '../../../src/bench/whole-run/peer-blas.js';
import { formatWholeRuns } from '../../../src/bench/whole-run/report.js';
import type { WholeRunResult } from '../../../src/bench/whole-run/run.js';
import { findPeerScript, findTorchPython } from '../../../src/bench/whole-run/torch-peer.js';

const shape = { d: 512, m: 8192, batch: 4096 };

describe("the peer's memory allocator", () => {
  it('tries glibc, then tcmalloc and jemalloc where their libraries are found', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-alloc-'));
    expect(allocatorCandidates([dir])).toEqual([{ name: 'glibc', preload: null }]);
    fs.writeFileSync(path.join(dir, 'libjemalloc.so.2'), '');
    fs.writeFileSync(path.join(dir, 'libtcmalloc_minimal.so.4'), '');
    expect(allocatorCandidates([path.join(dir, 'absent'), dir])).toEqual([
      { name: 'glibc', preload: null },
      { name: 'tcmalloc', preload: path.join(dir, 'libtcmalloc_minimal.so.4') },
      { name: 'jemalloc', preload: path.join(dir, 'libjemalloc.so.2') },
    ]);
    fs.rmSync(dir, { recursive: true });
  });

  it('preloads the allocator in the peer environment only, beside the kernel set', () => {
    expect(peerEnv(null, null)).toBe(process.env);
    const env = peerEnv(null, '/lib/libtcmalloc_minimal.so.4');
    expect(env['LD_PRELOAD']).toBe('/lib/libtcmalloc_minimal.so.4');
    expect(env['OPENBLAS_CORETYPE']).toBe(process.env['OPENBLAS_CORETYPE']);
    expect(peerEnv('SkylakeX', '/x.so')).toMatchObject({ OPENBLAS_CORETYPE: 'SkylakeX', LD_PRELOAD: '/x.so' });
    expect(process.env['LD_PRELOAD']).not.toBe('/x.so');
  });

  it('keeps each allocator its best sweep and chooses the fastest step (a tie keeps glibc), and says so in one line', async () => {
    const candidates: Allocator[] = [
      { name: 'glibc', preload: null },
      { name: 'tcmalloc', preload: '/lib/libtcmalloc_minimal.so.4' },
      { name: 'jemalloc', preload: '/lib/libjemalloc.so.2' },
    ];
    const step: Record<string, number> = { glibc: 1.7, tcmalloc: 0.9, jemalloc: 2.3 };
    const calls: string[] = [];
    // tcmalloc's first run lands in a slow moment.
    const yardstick = async (a: Allocator) => {
      calls.push(a.name);
      return step[a.name]! * (calls.length === 2 ? 3 : 1);
    };
    const lines: string[] = [];
    const c = await choosePeerAllocator('python3', 'torch_sae.py', shape, 2, null, (l) => lines.push(l), candidates, 2, yardstick);
    expect(calls).toEqual(['glibc', 'tcmalloc', 'jemalloc', 'jemalloc', 'tcmalloc', 'glibc']);
    expect(c.tried.map((t) => t.samples)).toEqual([[1.7, 1.7], [2.7, 0.9], [2.3, 2.3]].map((xs) => xs.map((x) => expect.closeTo(x, 9))));
    expect(c.chosen).toEqual(candidates[1]);
    expect(lines).toEqual([
      "The peer's memory allocator (LD_PRELOAD), seconds per step at 512 -> 8192, batch 4096, 2 thread(s), best of 2 sweeps: " +
        'glibc 1.700 (1.700/1.700), tcmalloc 0.900 (2.700/0.900), jemalloc 2.300 (2.300/2.300); it ran tcmalloc.',
    ]);
    const tie = await choosePeerAllocator('python3', 's', shape, 1, null, () => {}, candidates.slice(0, 2), 1, async () => 1);
    expect(tie.chosen.name).toBe('glibc');
    const alone = await choosePeerAllocator('python3', 's', shape, 1, null, () => {}, candidates.slice(0, 1), 1, async () => 1.5);
    expect(formatAllocChoice(alone)).toMatch(/: glibc 1\.500; it ran glibc \(no tcmalloc or jemalloc found: with Debian's libtcmalloc-minimal4 installed/);
    // The whole-run report prints it under the table, once per case.
    const run = { name: 'B', d: 1, m: 1, batch: 1, steps: 1, lastKernel: 'dense', wallSeconds: 1, loopSeconds: 1, tokensPerSecond: 1, dense: { steps: 1, seconds: 1 }, sparse: { steps: 0, seconds: 0 }, otherSeconds: 0, firstSparseStep: null, l0FirstSteps: [], backend: 'wasm' } as unknown as WholeRunResult;
    const best = { threads: 2, loopSeconds: 1, tokensPerSecond: 1, blasCore: 'Haswell', matMulGflops: 200 };
    expect(formatWholeRuns([{ run, peer: { source: 'measured', best, runs: [best], allocator: c }, round: 1 }])).toContain(`\nB: ${lines[0]}\n`);
  });

  const python = findTorchPython();
  const script = findPeerScript();
  it.skipIf(!python || !script)("times the peer's own step with each allocator found, and the preloaded one is the one loaded", async () => {
    const found = allocatorCandidates();
    const lines: string[] = [];
    const c = await choosePeerAllocator(python!, script!, { d: 16, m: 64, batch: 256 }, 1, null, (l) => lines.push(l), found, 1);
    expect(c.tried.map((t) => t.name)).toEqual(found.map((a) => a.name));
    expect(c.tried.every((t) => t.seconds > 0 && t.seconds < 5)).toBe(true);
    expect(lines[0]).toMatch(/^The peer's memory allocator \(LD_PRELOAD\), seconds per step at 16 -> 64, batch 256, 1 thread\(s\): glibc \d/);
    expect(await peerStepYardstick(python!, script!, { d: 8, m: 32, batch: 64 }, 1, null, null)).toBeGreaterThan(0);
    for (const a of found.filter((x) => x.preload !== null)) {
      const maps = await promisify(execFile)(python!, ['-c', "print(open('/proc/self/maps').read())"], { encoding: 'utf8', env: peerEnv(null, a.preload) });
      expect(maps.stdout).toContain(fs.realpathSync(a.preload!));
    }
  }, 120_000);
});
