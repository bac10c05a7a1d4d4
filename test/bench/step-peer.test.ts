import { describe, expect, it } from 'vitest';
import { SHAPES } from '../../src/bench/configs.js';
import { formatReport, type BenchReport } from '../../src/bench/report.js';
import { peerFor, peerTimedSteps, runStepPeer, type StepPeer } from '../../src/bench/step-peer.js';
import type { TrainBenchResult } from '../../src/bench/train-bench.js';
import { findPeerScript, findTorchPython } from '../../src/bench/whole-run/torch-peer.js';
import { PHASES } from '../../src/util/phase-timer.js';

const row = (config: string, d: number, m: number, tokensPerSecond: number, architecture = 'relu') =>
  ({ config, architecture, d, m, batch: 4096, tokensPerSecond, regime: 'trained', kernel: 'auto', ran: 'sparse x2 workers (simd)', backend: 'wasm', l0: 30, peakRssBytes: 1, mainThreadMsPerStep: 0, msPerStep: Object.fromEntries(['total', ...PHASES].map((p) => [p, 1])), matMulGflops: 1 }) as unknown as TrainBenchResult;
const machine = { cpu: 'cpu', cores: 2, memoryGiB: 1, node: 'v20', tfjs: '4.22.0', platform: 'linux x64', date: 'today' };

describe('the PyTorch peer beside the step figures', () => {
  it('times about a TFLOP of dense steps, 3 to 200 of them', () => {
    expect(peerTimedSteps({ d: 64, m: 1024, batch: 4096 })).toBe(200);
    expect(peerTimedSteps({ d: 512, m: 8192, batch: 4096 })).toBe(6);
    expect(peerTimedSteps({ d: 768, m: 12288, batch: 4096 })).toBe(3);
  });

  it('stands the figure measured in this sitting beside relu rows of its shape, else the quoted range, labelled', () => {
    const peer: StepPeer = { d: 512, m: 8192, batch: 4096, best: { threads: 2, tokensPerSecond: 1398 }, runs: [{ threads: 1, tokensPerSecond: 745 }, { threads: 2, tokensPerSecond: 1398 }], blasCore: 'Zen', matMulGflops: 46.7 };
    expect(peerFor([peer], { d: 512, m: 8192, batch: 4096 })).toBe(peer);
    expect(peerFor([peer], { d: 512, m: 8192, batch: 1024 })).toBeUndefined();
    const base: BenchReport = { machine, train: [row('B', 512, 8192, 4000), row('B', 512, 8192, 3000, 'topk'), row('C', 768, 12288, 1800)], data: [], loops: [] };
    const measured = formatReport({ ...base, peers: [peer] });
    expect(measured).toMatch(/\| B \| relu \|[^\n]*\| 4,000 \| 1,398 \(2 thr\) \|/);
    expect(measured).toMatch(/\| B \| topk \|[^\n]*\| 3,000 \| - \|/);
    // C had no peer measured: its quoted range, labelled.
    expect(measured).toMatch(/\| C \| relu \|[^\n]*\| 1,900-3,100 quoted \|/);
    expect(measured).toContain('PyTorch: ../shared/peers/torch_sae.py measured in this sitting');
    expect(measured).toContain('512 -> 8192: 1 thr 745, 2 thr 1,398 (OpenBLAS Zen, matMul 46.7 GFLOP/s)');
    const quoted = formatReport(base);
    expect(quoted).toMatch(/\| B \| relu \|[^\n]*\| 4,100-6,100 quoted \|/);
    expect(quoted).toContain('PyTorch: quoted from ../shared/PERF.md');
  });

  const python = findTorchPython();
  const script = findPeerScript();
  it.skipIf(!python || !script)('runs the peer at each thread count on rows of the shape and keeps the fastest', async () => {
    const lines: string[] = [];
    const p = await runStepPeer(python!, script!, SHAPES.tiny!, [1, 2], (l) => lines.push(l), 3);
    expect(p).toMatchObject({ d: 16, m: 64, batch: 256 });
    expect(p.runs.map((r) => r.threads)).toEqual([1, 2]);
    expect(p.runs.every((r) => r.tokensPerSecond > 0)).toBe(true);
    expect(p.best.tokensPerSecond).toBe(Math.max(...p.runs.map((r) => r.tokensPerSecond)));
    expect(p.matMulGflops).toBeGreaterThan(0);
    expect(lines.join('\n')).toMatch(/PyTorch peer at 16 -> 64, batch 256, 1 thread\(s\), 3 timed steps/);
  }, 300_000);
});
