/**
 * The PyTorch peer beside `npm run bench`'s step figures, measured in the same sitting: the
 * reference trainer (../shared/peers/torch_sae.py, whole-run/torch-peer.ts finds it and Python
 * with torch) on generated rows of each config's shape, a few steps after a warm-up, at each
 * thread count; the best count is the figure. Its dense step costs the same at any L0, so one
 * figure stands beside both regimes. OpenBLAS runs the fastest kernel set the CPU allows
 * (peer-blas.ts), not only the one it picks itself. Where no torch is found, the range quoted from
 * ../shared/PERF.md (another machine, another day) stands in, labelled as quoted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeNpyFile } from '../io/npy.js';
import { openBatchSource } from './bench-data.js';
import type { BenchShape } from './configs.js';
import { choosePeerAllocator, type AllocChoice } from './whole-run/peer-alloc.js';
import { choosePeerBlas, type BlasChoice } from './whole-run/peer-blas.js';
import { runPeerScript } from './whole-run/torch-peer.js';

export interface StepPeerRun {
  threads: number;
  /** The peer's own tokens/s over its timed steps (its warm-up excluded). */
  tokensPerSecond: number;
}

export interface StepPeer {
  /** d, m and batch of the configs it stands beside. */
  d: number;
  m: number;
  batch: number;
  /** The fastest run. */
  best: StepPeerRun;
  runs: StepPeerRun[];
  /** OpenBLAS' kernel set as the peer reports it (null: none found, the reference BLAS?). */
  blasCore: string | null;
  /** The peer's matMul yardstick at the best count, GFLOP/s. */
  matMulGflops: number;
  /** The OpenBLAS kernel sets tried (peer-blas.ts) and the one its runs used. */
  blas?: BlasChoice;
  /** The memory allocators tried (peer-alloc.ts) and the one its runs preloaded. */
  allocator?: AllocChoice;
}

/** ~1 TFLOP of dense steps (10 d m flops a token) per timed run, 3 to 200 steps: ~20 s at this machine's peer speed. */
export function peerTimedSteps(s: Pick<BenchShape, 'd' | 'm' | 'batch'>): number {
  return Math.max(3, Math.min(200, Math.round(1e12 / (10 * s.d * s.m * s.batch))));
}

/** The peer at each of `threads` on two batches of generated rows of `shape`'s width. */
export async function runStepPeer(
  python: string,
  script: string,
  shape: BenchShape,
  threads: number[],
  log: (l: string) => void,
  timedSteps = peerTimedSteps(shape),
): Promise<StepPeer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-step-peer-'));
  try {
    const { d, m, batch } = shape;
    // The bench's own generated batches (bench-data.ts), two of them.
    const source = await openBatchSource({ ...shape, data: 'synthetic' }, 0, 2);
    const x = new Float32Array(2 * batch * d);
    x.set((await source.next()).subarray(0, batch * d), 0);
    x.set((await source.next()).subarray(0, batch * d), batch * d);
    const npy = path.join(dir, 'x.npy');
    writeNpyFile(npy, x, [2 * batch, d], '<f4');
    const blas = await choosePeerBlas(python, Math.max(...threads), log);
    const allocator = await choosePeerAllocator(python, script, shape, Math.max(...threads), blas.coreType, log);
    const warmup = 2;
    const runs: StepPeerRun[] = [];
    let blasCore: string | null = null;
    const yardstick = new Map<number, number>();
    for (const t of threads) {
      log(`bench: PyTorch peer at ${d} -> ${m}, batch ${batch}, ${t} thread(s), ${timedSteps} timed steps ...`);
      const out = path.join(dir, `peer-${t}.json`);
      const args = ['--data', npy, '--d-sae', String(m), '--batch', String(batch), '--steps', String(warmup + timedSteps), '--warmup', String(warmup), '--resample-every', '0', '--threads', String(t), '--seed', '0', '--eval-rows', '256', '--out', out];
      const { output, matMulGflops } = await runPeerScript(python, [script, ...args], out, t, blas.coreType, allocator.chosen.preload);
      const tps = output.throughput.tokens_per_s;
      if (!(tps !== null && tps > 0)) throw new Error(`the PyTorch peer at ${t} thread(s) reported no throughput (${out})`);
      runs.push({ threads: t, tokensPerSecond: tps });
      blasCore = output.env.openblas_core ?? null;
      yardstick.set(t, matMulGflops);
      log(`  ${Math.round(tps)} tokens/s`);
    }
    const best = runs.reduce((a, b) => (b.tokensPerSecond > a.tokensPerSecond ? b : a));
    return { d, m, batch, best, runs, blasCore, matMulGflops: yardstick.get(best.threads)!, blas, allocator };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The peer that stands beside a config of this shape, if measured. */
export function peerFor(peers: StepPeer[], s: { d: number; m: number; batch?: number }): StepPeer | undefined {
  return peers.find((p) => p.d === s.d && p.m === s.m && (s.batch === undefined || p.batch === s.batch));
}
