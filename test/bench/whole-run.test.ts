import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { splitByKernel, type WholeRunResult } from '../../src/bench/whole-run/run.js';
import { findPeerScript, findTorchPython, parsePeerFigures, peerArgs, slowPeerWarning, type PeerResult } from '../../src/bench/whole-run/torch-peer.js';
import { formatWholeRuns } from '../../src/bench/whole-run/report.js';
import { RUN_WEBGPU } from '../helpers/webgpu.js';

const step = (s: number, kernel: string, seconds: number, l0 = 10) => ({ step: s, kernel, seconds, l0 });

describe('whole-run bookkeeping', () => {
  it('splits a run into its dense and sparse steps; the rest of the loop is other', () => {
    const split = splitByKernel([step(1, 'dense x2 workers', 2), step(2, 'dense', 1), step(3, 'sparse x2 workers (simd)', 0.5), step(4, 'sparse', 0.25)], 4);
    expect(split.dense).toEqual({ steps: 2, seconds: 3 });
    expect(split.sparse).toEqual({ steps: 2, seconds: 0.75 });
    expect(split.otherSeconds).toBeCloseTo(0.25);
    expect(split.firstSparseStep).toBe(3);
    expect(split.l0FirstSteps).toEqual([10, 10, 10, 10]);
    expect(splitByKernel([step(1, 'dense', 1)], 1).firstSparseStep).toBeNull();
  });

  it('gives the peer the same data, width, steps, batch, l1, lr and resampling', () => {
    const run = { name: 'B', npy: '/t/x.npy', m: 8192, l1: 0.5, lr: 1e-3, batch: 4096, steps: 300, resample: { every: 75, until: 0.5, pool: 65536 } } as WholeRunResult;
    const a = peerArgs('p.py', run, 2, '/t/o.json');
    const arg = (k: string) => a[a.indexOf(k) + 1];
    expect([arg('--data'), arg('--d-sae'), arg('--l1'), arg('--lr'), arg('--batch'), arg('--steps'), arg('--threads')]).toEqual(['/t/x.npy', '8192', '0.5', '0.001', '4096', '300', '2']);
    expect([arg('--resample-every'), arg('--resample-until'), arg('--resample-pool')]).toEqual(['75', '0.5', '65536']);
    expect(arg('--resample-every')).toBe('75');
    const off = peerArgs('p.py', { ...run, resample: null }, 1, 'o');
    expect(off[off.indexOf('--resample-every') + 1]).toBe('0');
  });

  it('warns when the peer ran on a slow BLAS (none found, or a low matMul yardstick), not otherwise', () => {
    const measured = (blasCore: string | null, matMulGflops?: number): PeerResult => {
      const best = { threads: 1, loopSeconds: 1, tokensPerSecond: 1, blasCore, ...(matMulGflops !== undefined ? { matMulGflops } : {}) };
      return { source: 'measured', best, runs: [best] };
    };
    expect(slowPeerWarning(measured('Haswell', 62))).toBeNull();
    expect(slowPeerWarning(measured(null, 2.7))).toMatch(/slow BLAS \(no OpenBLAS found: the reference BLAS\?, matMul 2\.7 GFLOP\/s\).*libopenblas0-pthread/);
    expect(slowPeerWarning(measured('Prescott', 3))).toMatch(/OpenBLAS Prescott, matMul 3\.0/);
    expect(slowPeerWarning({ ...measured(null), source: 'given' })).toBeNull();
    const row = { run: { name: 'B', d: 1, m: 1, batch: 1, steps: 1, lastKernel: 'dense', wallSeconds: 1, loopSeconds: 1, tokensPerSecond: 1, dense: { steps: 1, seconds: 1 }, sparse: { steps: 0, seconds: 0 }, otherSeconds: 0, firstSparseStep: null, l0FirstSteps: [], backend: 'wasm' } as unknown as WholeRunResult, peer: measured(null, 2.7), round: 1 };
    expect(formatWholeRuns([row])).toMatch(/no OpenBLAS, matMul 2\.7 GFLOP\/s.*\n\nWarning: the PyTorch peer ran on a slow BLAS/s);
  });

  it('labels each round and gives the ratio of each pair of runs and their median', () => {
    const run = (loopSeconds: number) => ({ name: 'B', d: 1, m: 1, batch: 1, steps: 1, lastKernel: 'dense', wallSeconds: 1, loopSeconds, tokensPerSecond: 1, dense: { steps: 1, seconds: 1 }, sparse: { steps: 0, seconds: 0 }, otherSeconds: 0, firstSparseStep: null, l0FirstSteps: [], backend: 'wasm' }) as unknown as WholeRunResult;
    const peer = (loopSeconds: number): PeerResult => {
      const best = { threads: 2, loopSeconds, tokensPerSecond: 1, blasCore: 'SkylakeX', matMulGflops: 200 };
      return { source: 'measured', best, runs: [best] };
    };
    const text = formatWholeRuns([
      { run: run(116), peer: peer(100), round: 1 },
      { run: run(90), peer: peer(100), round: 2 },
      { run: run(100), peer: peer(80), round: 3 },
    ]);
    expect(text).toMatch(/\| B, round 1 \|[^\n]*\| 1\.16x \|\n\| B, round 2 \|[^\n]*\| 0\.90x \|\n\| B, round 3 \|/);
    expect(text).toContain('Time vs PyTorch by round (ours, then the peer, alternating):\n  B: 1.16x, 0.90x, 1.25x; median 1.16x');
    expect(text).toContain('Backend: B on wasm\n');
    expect(text.match(/ {2}B \(m=1\): /g)).toHaveLength(1);
    expect(formatWholeRuns([{ run: run(116), peer: peer(100), round: 1 }])).not.toMatch(/round/);
  });

  it('parses peer figures and refuses malformed ones', () => {
    expect(parsePeerFigures('B=5200, stories260k=98000')).toEqual({ B: 5200, stories260k: 98000 });
    expect(parsePeerFigures(undefined)).toEqual({});
    expect(() => parsePeerFigures('B')).toThrow(/name=tokens\/s/);
  });
});

const bench = (args: string[]) => promisify(execFile)(process.execPath, ['dist/bench/main.js', '--whole-run', ...args], { encoding: 'utf8' });

describe('npm run bench -- --whole-run (tiny case)', () => {
  // Runs the built script (`npm test` builds dist/ first).
  it('trains a whole run through train() and reports the split beside a given peer figure', async () => {
    const { stdout } = await bench(['--json', '--cases', 'tiny', '--steps', '12', '--no-peer', '--peer-tokens-per-s', 'tiny=50000']);
    const report = JSON.parse(stdout);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.wholeRuns).toHaveLength(1);
    const { run, peer } = report.wholeRuns[0];
    expect(run).toMatchObject({ name: 'tiny', d: 16, m: 64, batch: 256, steps: 12 });
    expect(run.dense.steps + run.sparse.steps).toBe(12);
    expect(run.loopSeconds).toBeGreaterThan(0);
    expect(run.wallSeconds).toBeGreaterThan(run.loopSeconds);
    expect(run.dense.seconds + run.sparse.seconds + run.otherSeconds).toBeCloseTo(run.loopSeconds, 3);
    expect(run.tokensPerSecond).toBeCloseTo((12 * 256) / run.loopSeconds, 3);
    expect(run.l0FirstSteps).toHaveLength(12);
    expect(run.l1).toBeGreaterThan(0);
    expect(peer.source).toBe('given');
    expect(peer.best.tokensPerSecond).toBe(50000);
    expect(formatWholeRuns(report.wholeRuns)).toMatch(/\| tiny \| 16 \| 64 \| 256 \| 12 \|.*given by flag/);
    expect(run.backend).toMatch(/^(wasm|cpu|tensorflow)$/);
  });

  it('--workers sets train.workers of every run: 1 worker thread, or 0 for the main thread alone', async () => {
    for (const [workers, ran] of [['1', /x1 workers/], ['0', /^(dense|sparse)$/]] as const) {
      const { stdout } = await bench(['--json', '--cases', 'tiny', '--steps', '4', '--no-peer', '--workers', workers]);
      expect(JSON.parse(stdout).wholeRuns[0].run.lastKernel).toMatch(ran);
    }
    await expect(bench(['--cases', 'tiny', '--steps', '4', '--no-peer', '--workers', 'two'])).rejects.toThrow(/--workers: expected one whole number >= 0, got 'two'/);
  });

  it.skipIf(!RUN_WEBGPU)('trains the whole run on the GPU with --backend webgpu (lavapipe in CI)', async () => {
    const { stdout } = await bench(['--json', '--cases', 'tiny', '--steps', '4', '--no-peer', '--backend', 'webgpu']);
    const { run } = JSON.parse(stdout).wholeRuns[0];
    expect(run.backend).toMatch(/^webgpu on .+/);
    expect(run.lastKernel).toBe('dense');
    expect(run.dense.steps).toBe(4);
    expect(formatWholeRuns(JSON.parse(stdout).wholeRuns)).toMatch(/Backend: tiny on webgpu on /);
  }, 120_000);

  // Each of these starts Python with torch about twenty times (the peer's BLAS kernel sets, three
  // sweeps; its allocators; its runs): 70-95 s on a loaded 2-core CI machine.
  const PEER_TIMEOUT_MS = 300_000;
  const python = findTorchPython();
  it.skipIf(!python || !findPeerScript())('runs the PyTorch peer on the same data in the same sitting when Python with torch is here', async () => {
    const { stdout } = await bench(['--json', '--cases', 'tiny', '--steps', '6', '--peer-threads', '1']);
    const { peer } = JSON.parse(stdout).wholeRuns[0];
    expect(peer.source).toBe('measured');
    expect(peer.runs).toHaveLength(1);
    expect(peer.best.threads).toBe(1);
    expect(peer.best.loopSeconds).toBeGreaterThan(0);
    expect(peer.best.matMulGflops).toBeGreaterThan(0);
  }, PEER_TIMEOUT_MS);

  it.skipIf(!python || !findPeerScript())('probes the peer at each thread count and runs it in full at the fastest', async () => {
    const { stdout } = await bench(['--json', '--cases', 'tiny', '--steps', '6', '--peer-threads', '1,2', '--peer-probe-steps', '3']);
    const rows = JSON.parse(stdout).wholeRuns;
    const { peer } = rows[0];
    expect(peer.probes.steps).toBe(3);
    expect(peer.probes.runs.map((r: { threads: number }) => r.threads)).toEqual([1, 2]);
    const fastest = peer.probes.runs.reduce((a: { tokensPerSecond: number }, b: { tokensPerSecond: number }) => (b.tokensPerSecond > a.tokensPerSecond ? b : a));
    expect(peer.runs).toHaveLength(1);
    expect(peer.best.threads).toBe(fastest.threads);
    expect(peer.best.tokensPerSecond).toBeCloseTo((6 * 256) / peer.best.loopSeconds, 3);
    expect(formatWholeRuns(rows)).toMatch(new RegExp(`probes of 3 steps 1: [\\d,]+, 2: [\\d,]+; full run ${fastest.threads}: `));
  }, PEER_TIMEOUT_MS);

  it.skipIf(!python || !findPeerScript())('alternates ours and the peer for --rounds, probing only in the first, and reports each round', async () => {
    const { stdout } = await bench(['--json', '--cases', 'tiny', '--steps', '4', '--peer-threads', '1,2', '--peer-probe-steps', '2', '--rounds', '2']);
    const rows = JSON.parse(stdout).wholeRuns;
    expect(rows.map((r: { round: number }) => r.round)).toEqual([1, 2]);
    expect(rows[0].peer.probes.runs).toHaveLength(2);
    expect(rows[0].peer.blas.tried.length).toBeGreaterThan(0);
    expect(rows[1].peer.probes).toBeUndefined();
    expect(rows[1].peer.best.threads).toBe(rows[0].peer.best.threads);
    expect(rows[1].peer.blas).toEqual(rows[0].peer.blas);
    expect(formatWholeRuns(rows)).toMatch(/\| tiny, round 2 \|[^\n]*\n[\s\S]*Time vs PyTorch by round[^\n]*\n {2}tiny: [\d.]+x, [\d.]+x; median [\d.]+x/);
  }, PEER_TIMEOUT_MS);
});
