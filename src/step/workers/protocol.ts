import type { SharedLayout } from './layout.js';
import type { SelectionLayout } from './selection.js';
import type { Activation } from '../../sae/activation.js';
import type { PoolScoreLayout } from './pool-score-rows.js';
import type { SliceStepRequest, SliceStepResult } from './slice-step.js';

/** Messages from the step kernel to a worker; each is answered by one WorkerReply. */
export type WorkerRequest =
  /** stepSync: the barrier and slots of the one-message step (step-sync.ts). */
  | { kind: 'init'; memory: WebAssembly.Memory; layout: SharedLayout; slice: number; backend: string; simd: boolean; stepSync: SharedArrayBuffer }
  /** A whole training step, its phases met at the shared barrier (slice-step.ts). */
  | ({ kind: 'step' } & SliceStepRequest)
  /** The worker's row range of the batch: xc = x - b_dec and x's column sums (row-reduce.ts). */
  | { kind: 'centre'; rows: number }
  /** The training stream's pool of rows (Batch.pooled: a view of its SharedArrayBuffer), for steps whose x the workers copy. */
  | { kind: 'row-pool'; pool: Float32Array }
  /** The selection buffer (selection.ts), new or grown. */
  | { kind: 'selection'; buffer: SharedArrayBuffer; layout: SelectionLayout }
  /** The worker's live tensor count (tests: nothing leaks from step to step). */
  | { kind: 'tensors' }
  /** Resampling (pool-score-rows.ts): make the SAE's tensors from the event's buffer (activation absent: ReLU). */
  | { kind: 'score-load'; buffer: SharedArrayBuffer; layout: PoolScoreLayout; activation?: Activation; sparseUpTo?: number }
  /** Score the worker's row range of the `rows` pool rows in the buffer. */
  | { kind: 'score'; rows: number }
  /** The event is over: free its tensors. */
  | { kind: 'score-end' }
  /**
   * Resampling scored in the step's memory (pool-score-slice.ts; ReLU and JumpReLU, SIMD kernels):
   * the event's JumpReLU thresholds [m] (absent: ReLU) and sparse-decode limit.
   */
  | { kind: 'slice-score-begin'; threshold?: Float32Array; sparseUpTo?: number }
  /** The slice's partial reconstruction of the `rows` pool rows in x (after 'centre'). */
  | { kind: 'slice-score-encode'; rows: number }
  /** The worker's row range: its rows' scores from every partial (row-reduce.ts scoreRowsOfPartials). */
  | { kind: 'slice-score-rows'; rows: number };

export type WorkerReply =
  | { kind: 'init'; loops: string }
  | ({ kind: 'step' } & SliceStepResult)
  | { kind: 'centre' }
  | { kind: 'row-pool' }
  | { kind: 'selection' }
  | { kind: 'tensors'; count: number }
  | { kind: 'score-load' }
  /** packed: [loss | ||x||^2 | ||x - b_dec||^2 over the worker's `rows` rows | their sum of x - b_dec (d)] (sae/row-scores.ts). */
  | { kind: 'score'; rows: number; packed: Float32Array }
  | { kind: 'score-end' }
  | { kind: 'slice-score-begin' }
  /** The slice's active entries among the chunk's, and whether it decoded them sparse. */
  | { kind: 'slice-score-encode'; nnz: number; sparse: boolean }
  /** packed as 'score''s, for the worker's row range of the chunk. */
  | { kind: 'slice-score-rows'; rows: number; packed: Float32Array }
  | { kind: 'error'; message: string; stack?: string };
