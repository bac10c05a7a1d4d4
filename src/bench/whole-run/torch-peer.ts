/**
 * The PyTorch peer (`../shared/peers/torch_sae.py`, Debian's torch on OpenBLAS) on the same data,
 * steps, batch, width, L1 coefficient, learning rate and resampling as a whole run of ours, run
 * in the same sitting at each thread count; the best counts. Where no Python with torch is found,
 * a figure passed by flag stands in.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { choosePeerAllocator, type AllocChoice } from './peer-alloc.js';
import { choosePeerBlas, peerEnv, peerYardstick, type BlasChoice } from './peer-blas.js';
import type { WholeRunResult } from './run.js';

export interface PeerRun {
  threads: number;
  /** The peer's training loop, first step to last (its resampling included). */
  loopSeconds: number;
  tokensPerSecond: number;
  /** OpenBLAS' kernel set, as the peer reports it (e.g. 'SkylakeX', 'Haswell'); null where it cannot tell. */
  blasCore: string | null;
  /** The peer's float32 product [1024, 512] x [512, 2048] at this thread count, GFLOP/s (its BLAS as it runs). */
  matMulGflops?: number;
}

/** Below this the peer's BLAS is the reference one (or as slow): its figure understates PyTorch. */
export const SLOW_PEER_GFLOPS = 10;

/** A warning when the peer ran on a slow BLAS (no OpenBLAS found, or a low yardstick), else null. */
export function slowPeerWarning(peer: PeerResult): string | null {
  if (peer.source !== 'measured') return null;
  const b = peer.best;
  if (b.blasCore !== null && (b.matMulGflops === undefined || b.matMulGflops >= SLOW_PEER_GFLOPS)) return null;
  return (
    `the PyTorch peer ran on a slow BLAS (${b.blasCore ? `OpenBLAS ${b.blasCore}` : 'no OpenBLAS found: the reference BLAS?'}, ` +
    `matMul ${b.matMulGflops === undefined ? '?' : b.matMulGflops.toFixed(1)} GFLOP/s): its figure understates PyTorch. ` +
    'On Debian install libopenblas0-pthread (torch then calls OpenBLAS through libblas.so.3) and run again.'
  );
}

export interface PeerResult {
  /** 'measured': run here in this sitting; 'given': tokens/s passed by flag. */
  source: 'measured' | 'given';
  /** The fastest measured run (or the given figure as one). */
  best: PeerRun;
  runs: PeerRun[];
  /** Short runs at each thread count that chose the one full run (absent: a full run at each count). */
  probes?: { steps: number; runs: PeerRun[] };
  /** The OpenBLAS kernel sets tried and the one its runs used (measured only). */
  blas?: BlasChoice;
  /** The memory allocators tried and the one its runs preloaded (measured only; peer-alloc.ts). */
  allocator?: AllocChoice;
}

/** The first of `candidates` that imports torch, or null. */
export function findTorchPython(candidates: string[] = ['python3', '/usr/bin/python3']): string | null {
  for (const c of candidates) {
    const r = spawnSync(c, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return c;
  }
  return null;
}

/** torch_sae.py beside the repository (`../shared/peers`), under SAE_SHARED, or in /work/shared; null if none. */
export function findPeerScript(): string | null {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const dirs = [process.env['SAE_SHARED'], path.join(repo, '..', 'shared'), '/work/shared'];
  for (const d of dirs) {
    const f = d ? path.join(d, 'peers', 'torch_sae.py') : '';
    if (f && fs.existsSync(f)) return f;
  }
  return null;
}

/** The peer's command line for a run of ours at `threads` threads, writing its metrics to `out` (`steps`: fewer, for a probe). */
export function peerArgs(script: string, run: WholeRunResult, threads: number, out: string, steps = run.steps): string[] {
  const rs = run.resample;
  return [
    script,
    '--data', run.npy,
    '--d-sae', String(run.m),
    '--l1', String(run.l1),
    '--lr', String(run.lr),
    '--batch', String(run.batch),
    '--steps', String(steps),
    '--threads', String(threads),
    '--seed', '0',
    '--eval-rows', '4096',
    ...(rs ? ['--resample-every', String(rs.every), '--resample-until', String(rs.until), '--resample-pool', String(rs.pool)] : ['--resample-every', '0']),
    '--out', out,
  ];
}

/** What one run of torch_sae.py wrote (--out): its throughput and its BLAS. */
export interface PeerOutput {
  throughput: { total_loop_seconds: number; tokens_per_s: number | null };
  env: { openblas_core?: string };
}

/**
 * torch_sae.py's command line `argv` (the script first, its --out at `out`) with OpenBLAS' kernel
 * set `coreType` (peer-blas.ts; null: as inherited) and the allocator `preload` (peer-alloc.ts;
 * null: glibc's), then the peer's matMul yardstick at `threads`.
 */
export async function runPeerScript(
  python: string, argv: string[], out: string, threads: number, coreType: string | null, preload: string | null = null,
): Promise<{ output: PeerOutput; matMulGflops: number }> {
  await promisify(execFile)(python, argv, { maxBuffer: 64 * 2 ** 20, env: peerEnv(coreType, preload) });
  // Python's json writes NaN and Infinity (e.g. tokens_per_s when no step is past its warm-up): JSON has null.
  const output = JSON.parse(fs.readFileSync(out, 'utf8').replace(/\bNaN\b|-?\bInfinity\b/g, 'null')) as PeerOutput;
  return { output, matMulGflops: (await peerYardstick(python, threads, coreType)).gflops };
}

/** One run of the peer at `threads` threads for `steps` steps, with its BLAS yardstick. */
async function peerRun(
  python: string, script: string, run: WholeRunResult, threads: number, steps: number, dir: string, log: (l: string) => void, coreType: string | null, preload: string | null,
): Promise<PeerRun> {
  const out = path.join(dir, `peer-${run.name}-${threads}-${steps}.json`);
  log(`whole run ${run.name}: PyTorch peer, ${threads} thread(s), ${steps} steps ...`);
  const { output: j, matMulGflops } = await runPeerScript(python, peerArgs(script, run, threads, out, steps), out, threads, coreType, preload);
  const loopSeconds = j.throughput.total_loop_seconds;
  const r: PeerRun = { threads, loopSeconds, tokensPerSecond: (steps * run.batch) / loopSeconds, blasCore: j.env.openblas_core ?? null, ...(matMulGflops > 0 ? { matMulGflops } : {}) };
  log(`  ${Math.round(r.tokensPerSecond)} tokens/s, ${loopSeconds.toFixed(1)} s; its matMul ${matMulGflops.toFixed(1)} GFLOP/s (${j.env.openblas_core ?? 'no OpenBLAS found'})`);
  return r;
}

const fastest = (runs: PeerRun[]): PeerRun => runs.reduce((a, b) => (b.tokensPerSecond > a.tokensPerSecond ? b : a));

/**
 * The peer at its best thread count, in this sitting. With `probeSteps` > 0 and several counts,
 * a run of probeSteps steps at each count picks the one full run (a full run of B at one thread
 * takes half an hour here); otherwise a full run at each count, one after another. The fastest
 * full run is `best`. `chosen`: the kernel set and allocator an earlier round chose (else tried
 * here: peer-blas.ts, then peer-alloc.ts at the run's shape).
 */
export async function runTorchPeer(
  python: string, script: string, run: WholeRunResult, threads: number[], dir: string, log: (l: string) => void, probeSteps = 0,
  chosen?: { blas: BlasChoice; allocator: AllocChoice },
): Promise<PeerResult> {
  const blas = chosen?.blas ?? (await choosePeerBlas(python, Math.max(...threads), log));
  const allocator = chosen?.allocator ?? (await choosePeerAllocator(python, script, run, Math.max(...threads), blas.coreType, log));
  const preload = allocator.chosen.preload;
  let probes: PeerResult['probes'];
  let full = threads;
  if (probeSteps > 0 && threads.length > 1) {
    const steps = Math.min(probeSteps, run.steps);
    const runs: PeerRun[] = [];
    for (const t of threads) runs.push(await peerRun(python, script, run, t, steps, dir, log, blas.coreType, preload));
    probes = { steps, runs };
    full = [fastest(runs).threads];
    log(`whole run ${run.name}: the peer's probes chose ${full[0]} thread(s) for the full run`);
  }
  const runs: PeerRun[] = [];
  for (const t of full) runs.push(await peerRun(python, script, run, t, run.steps, dir, log, blas.coreType, preload));
  const result: PeerResult = { source: 'measured', best: fastest(runs), runs, blas, allocator, ...(probes ? { probes } : {}) };
  const warning = slowPeerWarning(result);
  if (warning) log(`warning: ${warning}`);
  return result;
}

/** A figure passed by flag (tokens/s over the whole run) as a peer result for `run`. */
export function givenPeer(run: WholeRunResult, tokensPerSecond: number): PeerResult {
  const best: PeerRun = { threads: 0, loopSeconds: (run.steps * run.batch) / tokensPerSecond, tokensPerSecond, blasCore: null };
  return { source: 'given', best, runs: [best] };
}

/** `--peer-tokens-per-s B=5200,stories260k=98000` -> { B: 5200, stories260k: 98000 }. */
export function parsePeerFigures(s: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of (s ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const [name, value] = item.split('=');
    const n = Number(value);
    if (!name || !(n > 0)) throw new Error(`--peer-tokens-per-s: expected name=tokens/s items (e.g. B=5200), got '${item}'`);
    out[name] = n;
  }
  return out;
}
