import fs from 'node:fs';
import type { BackendChoice } from '../../backend/choices.js';
import { WHOLE_RUN_CASES, runWholeRun, wholeRunScratch, type WholeRunResult } from './run.js';
import { findPeerScript, findTorchPython, givenPeer, runTorchPeer, type PeerResult } from './torch-peer.js';

export interface WholeRunBenchOptions {
  /** Case names (WHOLE_RUN_CASES). */
  cases: string[];
  /** Steps of every run (null: each case's own). */
  steps: number | null;
  /** Thread counts to run the peer at (the best counts). */
  peerThreads: number[];
  /** Steps of the peer's probe at each thread count before its one full run (0: a full run at each count). */
  peerProbeSteps: number;
  /** tokens/s per case when no Python with torch is found (or `peer` is false). */
  peerFigures: Record<string, number>;
  /** Run the PyTorch peer when found (false: only the figures given). */
  peer: boolean;
  /**
   * Whole runs of each case, ours then the peer's, alternating (1: one of each). This machine's
   * speed drifts by up to 2x within an hour (neighbours): each round's ratio pairs two runs taken
   * minutes apart. The peer's probes run in the first round only; later rounds reuse its thread
   * count and BLAS kernels.
   */
  rounds: number;
  /** Keep the scratch folder (generated data, runs, the peer's .npy). */
  keep: boolean;
  /** runtime.backend of every run (absent: each case's config, i.e. auto). */
  backend?: BackendChoice;
  /** train.workers of every run (absent: each case's config, i.e. auto; 0: the main thread alone). */
  workers?: number;
}

export interface WholeRunRow {
  run: WholeRunResult;
  peer: PeerResult | null;
  /** 1-based round of this case (WholeRunBenchOptions.rounds). */
  round: number;
}

/** Each case's whole run, then the peer on the same data; skipped cases are left out (with a log line). */
export async function runWholeRunBench(o: WholeRunBenchOptions, log: (l: string) => void): Promise<WholeRunRow[]> {
  const python = o.peer ? findTorchPython() : null;
  const script = python ? findPeerScript() : null;
  if (o.peer && !python) log('whole run: no Python with torch (python3, /usr/bin/python3): the PyTorch column uses --peer-tokens-per-s figures only');
  if (python && !script) log('whole run: torch_sae.py not found (../shared/peers, SAE_SHARED): the PyTorch column uses --peer-tokens-per-s figures only');
  const scratch = wholeRunScratch();
  const rows: WholeRunRow[] = [];
  try {
    for (const name of o.cases) {
      const c = WHOLE_RUN_CASES[name]!;
      let first = null as PeerResult | null;
      for (let round = 1; round <= o.rounds; round++) {
        log(`whole run ${name}${o.rounds > 1 ? `, round ${round} of ${o.rounds}` : ''}: ${c.what} ...`);
        const run = await runWholeRun(c, `${scratch}/${name}-${round}`, o.steps, log, o.backend, o.workers);
        if (!run) break;
        log(`  ${Math.round(run.tokensPerSecond)} tokens/s over ${run.steps} steps, ${run.loopSeconds.toFixed(1)} s (dense ${run.dense.steps} steps ${run.dense.seconds.toFixed(1)} s, sparse ${run.sparse.steps} steps ${run.sparse.seconds.toFixed(1)} s)`);
        let peer: PeerResult | null = null;
        if (python && script) {
          peer = first?.blas && first.allocator
            ? await runTorchPeer(python, script, run, [first.best.threads], scratch, log, 0, { blas: first.blas, allocator: first.allocator })
            : await runTorchPeer(python, script, run, o.peerThreads, scratch, log, o.peerProbeSteps);
          first ??= peer;
        } else if (o.peerFigures[name]) peer = givenPeer(run, o.peerFigures[name]!);
        rows.push({ run, peer, round });
      }
    }
  } finally {
    if (o.keep) log(`whole run: kept ${scratch}`);
    else fs.rmSync(scratch, { recursive: true, force: true });
  }
  return rows;
}
