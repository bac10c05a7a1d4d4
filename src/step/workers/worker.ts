/**
 * Worker-thread entry of the parallel sparse step: owns one feature slice (SliceCompute) with its
 * own tfjs backend, and answers the step kernel's requests (protocol.ts) one at a time.
 */
import * as tf from '../../backend/tfjs.js';
import { parentPort } from 'node:worker_threads';
import type { BackendChoice } from '../../backend/choices.js';
import { initBackend } from '../../backend/select.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';
import { SliceCompute } from './slice-compute.js';
import { loadLoops } from './load-loops.js';
import { PoolScoreRows } from './pool-score-rows.js';
import { PoolScoreSlice } from './pool-score-slice.js';
import type { SharedLayout } from './layout.js';
import type { LoopKernels } from '../kernels/loops.js';
import { SliceStep } from './slice-step.js';
import { StepSync } from './step-sync.js';

let compute: SliceCompute | null = null;
let step: SliceStep | null = null;
/** The resampling event being scored, if any. */
let scoring: PoolScoreRows | null = null;
let slice = 0;
let workers = 1;
/** What init received, for the scoring in the step's memory (made at its first event). */
let shared: { memory: WebAssembly.Memory; layout: SharedLayout; loops: LoopKernels } | null = null;
let sliceScoring: PoolScoreSlice | null = null;

function reply(r: WorkerReply): void {
  parentPort!.postMessage(r);
}

async function handle(req: WorkerRequest): Promise<WorkerReply> {
  switch (req.kind) {
    case 'init': {
      await initBackend(req.backend as BackendChoice);
      const { loops, note } = loadLoops(req.memory, req.simd);
      compute = new SliceCompute(req.memory, req.layout, req.slice, loops);
      step = new SliceStep(req.memory, req.layout, req.slice, compute, new StepSync(req.stepSync, req.layout.slices.length));
      slice = req.slice;
      workers = req.layout.slices.length;
      shared = { memory: req.memory, layout: req.layout, loops };
      return { kind: 'init', loops: note };
    }
    case 'step':
      return { kind: 'step', ...step!.run(req) };
    case 'centre':
      compute!.centre(req.rows);
      return { kind: 'centre' };
    case 'row-pool':
      compute!.installRowPool(req.pool);
      return { kind: 'row-pool' };
    case 'selection':
      compute!.installSelection(req.buffer, req.layout);
      return { kind: 'selection' };
    case 'tensors':
      return { kind: 'tensors', count: tf.memory().numTensors };
    case 'score-load':
      scoring?.dispose();
      scoring = new PoolScoreRows(req.buffer, req.layout, req.activation, workers, slice, req.sparseUpTo);
      return { kind: 'score-load' };
    case 'score':
      return { kind: 'score', ...scoring!.score(req.rows) };
    case 'score-end':
      scoring?.dispose();
      scoring = null;
      return { kind: 'score-end' };
    case 'slice-score-begin':
      sliceScoring ??= new PoolScoreSlice(shared!.memory, shared!.layout, slice, shared!.loops);
      sliceScoring.begin(req.threshold, req.sparseUpTo);
      return { kind: 'slice-score-begin' };
    case 'slice-score-encode':
      return { kind: 'slice-score-encode', ...sliceScoring!.encode(req.rows) };
    case 'slice-score-rows':
      return { kind: 'slice-score-rows', ...sliceScoring!.scoreRows(req.rows) };
  }
}

parentPort!.on('message', (req: WorkerRequest) => {
  handle(req).then(reply, (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    reply({ kind: 'error', message: err.message, stack: err.stack });
  });
});
