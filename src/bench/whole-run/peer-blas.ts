/**
 * The peer's best BLAS kernels on this CPU. Debian's OpenBLAS (0.3.21, DYNAMIC_ARCH) picks its
 * kernel set from the CPU model, and a model newer than the library falls back to the generic
 * one: on a Xeon with AVX-512 it chose 'Prescott' (SSE3) and ran the benchmark's product at 35
 * GFLOP/s where its SkylakeX kernels reach ~250 (BENCHMARKS.md). The comparison is against the
 * peer's best setting, so each kernel set the CPU's flags allow is tried through
 * OPENBLAS_CORETYPE with the peer's product yardstick, and the fastest is kept for its runs.
 * A shared machine's speed swings within seconds (the yardstick of one kernel set read 72 and
 * 400 GFLOP/s minutes apart on an EPYC, BENCHMARKS.md), so the candidates are tried in several
 * sweeps, alternately forward and backward, and each keeps its best.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';

/** OpenBLAS kernel sets and the CPU flags (/proc/cpuinfo) each one needs, most capable last. */
const CORE_TYPES: Array<{ core: string; flags: string[] }> = [
  { core: 'Haswell', flags: ['avx2', 'fma'] },
  { core: 'SkylakeX', flags: ['avx2', 'fma', 'avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'] },
  { core: 'Cooperlake', flags: ['avx2', 'fma', 'avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl', 'avx512_bf16'] },
];

/**
 * The OPENBLAS_CORETYPE values to try on a CPU with these flags: null first (OpenBLAS' own
 * choice, or the one the environment already sets), then every kernel set the flags allow.
 */
export function blasCoreCandidates(flags: ReadonlySet<string>): Array<string | null> {
  return [null, ...CORE_TYPES.filter((c) => c.flags.every((f) => flags.has(f))).map((c) => c.core)];
}

/** The first processor's flags in /proc/cpuinfo (empty where there is none: not Linux x86). */
export function cpuFlags(cpuinfo = '/proc/cpuinfo'): Set<string> {
  try {
    const line = fs.readFileSync(cpuinfo, 'utf8').split('\n').find((l) => /^flags\s*:/.test(l));
    return new Set(line ? line.replace(/^flags\s*:/, '').trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/** The peer process' environment for a kernel set (null: as inherited) and an allocator to preload (peer-alloc.ts; null: none). */
export function peerEnv(coreType: string | null, preload: string | null = null): NodeJS.ProcessEnv {
  if (coreType === null && preload === null) return process.env;
  return { ...process.env, ...(coreType !== null ? { OPENBLAS_CORETYPE: coreType } : {}), ...(preload !== null ? { LD_PRELOAD: preload } : {}) };
}

/**
 * The peer's BLAS yardstick: torch.mm [1024, 512] x [512, 2048] after a warm-up, the best of at
 * least five over at least 0.3 s, at the given thread count (OpenBLAS' own too); prints GFLOP/s and
 * the kernel set OpenBLAS runs.
 */
export const PEER_YARDSTICK = `
import ctypes, json, sys, time, torch
t = int(sys.argv[1]); torch.set_num_threads(t); core = None
try:
    lib = ctypes.CDLL("libopenblas.so.0"); lib.openblas_set_num_threads(ctypes.c_int(t))
    lib.openblas_get_corename.restype = ctypes.c_char_p; core = lib.openblas_get_corename().decode()
except (OSError, AttributeError): pass
a, b = torch.randn(1024, 512), torch.randn(512, 2048)
torch.mm(a, b); best = 1e9; n = 0; start = time.perf_counter()
while n < 5 or time.perf_counter() - start < 0.3:
    t0 = time.perf_counter(); torch.mm(a, b); best = min(best, time.perf_counter() - t0); n += 1
print(json.dumps({"gflops": 2 * 1024 * 512 * 2048 / best / 1e9, "core": core}))
`;

export interface Yardstick {
  gflops: number;
  /** OpenBLAS' kernel set as it reports it (null: no OpenBLAS found). */
  core: string | null;
}

/** The yardstick at `threads` threads with kernel set `coreType` (null: as inherited). */
export async function peerYardstick(python: string, threads: number, coreType: string | null): Promise<Yardstick> {
  const r = await promisify(execFile)(python, ['-c', PEER_YARDSTICK, String(threads)], { encoding: 'utf8', env: peerEnv(coreType) });
  return JSON.parse(r.stdout.trim()) as Yardstick;
}

export interface BlasChoice {
  /** The thread count the yardsticks ran at. */
  threads: number;
  /** OPENBLAS_CORETYPE for the peer's runs (null: as inherited, OpenBLAS' own choice). */
  coreType: string | null;
  /** Each candidate's best yardstick (gflops) and every sweep's figure (samples, in sweep order), in candidate order. */
  tried: Array<{ coreType: string | null; samples?: number[] } & Yardstick>;
}

/** Sweeps over the candidates (choosePeerBlas). */
export const BLAS_SWEEPS = 3;

/**
 * The order of each sweep over n candidates: forward, backward, forward, ... (a drift in the
 * machine's speed then favours no candidate for being tried first).
 */
export function sweepOrder(n: number, sweeps: number): number[][] {
  const forward = Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: sweeps }, (_, s) => (s % 2 === 0 ? forward : [...forward].reverse()));
}

/** `measure` of each of n candidates in `sweeps` sweeps (sweepOrder, at least one): every candidate's figures, in sweep order. */
export async function sweepSamples<T>(n: number, sweeps: number, measure: (i: number) => Promise<T>): Promise<T[][]> {
  const samples: T[][] = Array.from({ length: n }, () => []);
  for (const order of sweepOrder(n, Math.max(1, sweeps))) {
    for (const i of order) samples[i]!.push(await measure(i));
  }
  return samples;
}

/** The fastest of `candidates` by the yardstick at `threads` (a tie keeps the earlier: OpenBLAS' own choice first). */
export function fastestBlas(tried: BlasChoice['tried']): string | null {
  let best = tried[0]!;
  for (const t of tried) if (t.gflops > best.gflops) best = t;
  return best.coreType;
}

/**
 * Try each kernel set the CPU allows at `threads` threads, in `sweeps` sweeps (sweepOrder), and
 * keep the fastest by each one's best sweep. `yardstick`: peerYardstick (tests pass another).
 */
export async function choosePeerBlas(
  python: string,
  threads: number,
  log: (l: string) => void,
  candidates = blasCoreCandidates(cpuFlags()),
  sweeps = BLAS_SWEEPS,
  yardstick = peerYardstick,
): Promise<BlasChoice> {
  const samples = await sweepSamples(candidates.length, sweeps, (i) => yardstick(python, threads, candidates[i]!));
  const tried: BlasChoice['tried'] = candidates.map((coreType, i) => {
    const best = samples[i]!.reduce((a, b) => (b.gflops > a.gflops ? b : a));
    return { coreType, gflops: best.gflops, core: best.core, samples: samples[i]!.map((y) => y.gflops) };
  });
  const choice: BlasChoice = { threads, coreType: fastestBlas(tried), tried };
  log(formatBlasChoice(choice));
  return choice;
}

/** One line: each kernel set's yardstick and the one the peer ran. */
export function formatBlasChoice(b: BlasChoice): string {
  const label = (c: string | null, core: string | null): string => (c === null ? `OpenBLAS' own choice (${core ?? 'no OpenBLAS found'})` : core === c ? c : `${c} (ran ${core ?? '?'})`);
  const figures = (t: BlasChoice['tried'][number]): string =>
    t.samples && t.samples.length > 1 ? `${t.gflops.toFixed(1)} (${t.samples.map((g) => g.toFixed(1)).join('/')})` : t.gflops.toFixed(1);
  const tried = b.tried.map((t) => `${label(t.coreType, t.core)} ${figures(t)}`).join(', ');
  const sweeps = Math.max(...b.tried.map((t) => t.samples?.length ?? 1));
  const how = sweeps > 1 ? `, best of ${sweeps} sweeps (each sweep's in brackets)` : '';
  return `The peer's BLAS kernels (OPENBLAS_CORETYPE), matMul GFLOP/s at ${b.threads} thread(s)${how}: ${tried}; it ran ${b.coreType ?? 'OpenBLAS\' own choice'}.`;
}
