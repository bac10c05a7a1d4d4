/**
 * The peer's best memory allocator. PyTorch on glibc's malloc maps every tensor past its mmap
 * threshold (at most 32 MB) afresh and page-faults it in on first write: on a Zen 5 EPYC (tenth
 * session) ReLU, its gradient and the bias adds over a [4096, 8192] tensor took 100-250 ms each and
 * the peer's config-B step 1.73 s; with tcmalloc preloaded the same step took 0.91 s (jemalloc:
 * 2.29 s; BENCHMARKS.md). The comparison is against the peer's best setting, so each allocator found
 * here is tried with the peer's own step (its SAE class and Adam, at the run's shape) and the
 * fastest is preloaded (LD_PRELOAD) for its runs.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { peerEnv, sweepSamples } from './peer-blas.js';

export interface Allocator {
  name: string;
  /** The library to preload (null: glibc's malloc, nothing preloaded). */
  preload: string | null;
}

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
const LIBS = [
  { name: 'tcmalloc', files: ['libtcmalloc_minimal.so.4', 'libtcmalloc.so.4'] },
  { name: 'jemalloc', files: ['libjemalloc.so.2'] },
];

/** glibc's malloc first, then each of tcmalloc and jemalloc whose library is in one of `dirs`. */
export function allocatorCandidates(dirs = LIB_DIRS): Allocator[] {
  const out: Allocator[] = [{ name: 'glibc', preload: null }];
  for (const lib of LIBS) {
    const file = dirs.flatMap((d) => lib.files.map((f) => path.join(d, f))).find((f) => fs.existsSync(f));
    if (file) out.push({ name: lib.name, preload: file });
  }
  return out;
}

/**
 * The peer's step as its training loop runs it (torch_sae.py's SAE.loss, backward, Adam, the
 * decoder's renormalisation) on random rows of [batch, d] at width m: the best of two after a
 * warm-up step, in seconds. Arguments: the script, d, m, batch, threads.
 */
export const PEER_STEP_YARDSTICK = `
import importlib.util, json, sys, time, torch
script, d, m, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
spec = importlib.util.spec_from_file_location("torch_sae", script); P = importlib.util.module_from_spec(spec); spec.loader.exec_module(P)
P.set_threads(threads)
g = torch.Generator().manual_seed(0)
x = torch.randn(batch, d, generator=g)
sae = P.SAE(d, m, x.mean(0), g)
opt = torch.optim.Adam(sae.params(), lr=1e-3)
def step():
    loss = sae.loss(x, 0.1)[0]
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); sae.normalise_decoder()
step(); best = 1e9
for _ in range(2):
    t0 = time.perf_counter(); step(); best = min(best, time.perf_counter() - t0)
print(json.dumps({"seconds": best}))
`;

export interface StepShape {
  d: number;
  m: number;
  batch: number;
}

/** Seconds of the peer's step (PEER_STEP_YARDSTICK) with OpenBLAS kernels `coreType` and `preload`. */
export async function peerStepYardstick(
  python: string, script: string, shape: StepShape, threads: number, coreType: string | null, preload: string | null,
): Promise<number> {
  const args = ['-c', PEER_STEP_YARDSTICK, script, String(shape.d), String(shape.m), String(shape.batch), String(threads)];
  const r = await promisify(execFile)(python, args, { encoding: 'utf8', env: peerEnv(coreType, preload) });
  return (JSON.parse(r.stdout.trim()) as { seconds: number }).seconds;
}

export interface AllocChoice {
  threads: number;
  shape: StepShape;
  /** The allocator the peer's runs preload. */
  chosen: Allocator;
  /** Each candidate's best step (seconds) and every sweep's, in candidate order. */
  tried: Array<Allocator & { seconds: number; samples: number[] }>;
}

/** Sweeps over the allocators (choosePeerAllocator). */
export const ALLOC_SWEEPS = 2;

/**
 * Each allocator's step in `sweeps` sweeps (forward, backward, ...: sweepOrder), each keeping its
 * best; the fastest is chosen (a tie keeps the earlier: glibc first). `yardstick`: tests pass another.
 */
export async function choosePeerAllocator(
  python: string,
  script: string,
  shape: StepShape,
  threads: number,
  coreType: string | null,
  log: (l: string) => void,
  candidates = allocatorCandidates(),
  sweeps = ALLOC_SWEEPS,
  yardstick: (a: Allocator) => Promise<number> = (a) => peerStepYardstick(python, script, shape, threads, coreType, a.preload),
): Promise<AllocChoice> {
  const samples = await sweepSamples(candidates.length, sweeps, (i) => yardstick(candidates[i]!));
  const tried = candidates.map((a, i) => ({ ...a, seconds: Math.min(...samples[i]!), samples: samples[i]! }));
  let best = tried[0]!;
  for (const t of tried) if (t.seconds < best.seconds) best = t;
  const choice: AllocChoice = { threads, shape, chosen: { name: best.name, preload: best.preload }, tried };
  log(formatAllocChoice(choice));
  return choice;
}

/** One line: each allocator's step and the one the peer ran; a hint where only glibc was found. */
export function formatAllocChoice(a: AllocChoice): string {
  const s = (x: number) => x.toFixed(3);
  const tried = a.tried.map((t) => `${t.name} ${s(t.seconds)}${t.samples.length > 1 ? ` (${t.samples.map(s).join('/')})` : ''}`).join(', ');
  const sweeps = Math.max(...a.tried.map((t) => t.samples.length));
  const hint = a.tried.length === 1 ? ' (no tcmalloc or jemalloc found: with Debian\'s libtcmalloc-minimal4 installed the peer is tried on tcmalloc too)' : '';
  return (
    `The peer's memory allocator (LD_PRELOAD), seconds per step at ${a.shape.d} -> ${a.shape.m}, batch ${a.shape.batch}, ${a.threads} thread(s)` +
    `${sweeps > 1 ? `, best of ${sweeps} sweeps` : ''}: ${tried}; it ran ${a.chosen.name}${hint}.`
  );
}
