import type { SparsityPenalty } from '../../sae/gradients.js';
import type { AdamStepConsts } from '../adam.js';
import type { SharedLayout } from './layout.js';
import type { SelectionLayout, WorkerSelection } from './selection.js';
import type { JumpReluBackward } from './slice-jumprelu.js';
import type { Activation } from '../../sae/activation.js';
import type { PoolScoreLayout } from './pool-score-rows.js';

/** Messages from the step kernel to a worker; each is answered by one WorkerReply. */
export type WorkerRequest =
  | { kind: 'init'; memory: WebAssembly.Memory; layout: SharedLayout; slice: number; backend: string; simd: boolean }
  /** The worker's row range of the batch: xc = x - b_dec and x's column sums (row-reduce.ts). */
  | { kind: 'centre'; rows: number }
  /** The selection buffer (selection.ts), new or grown. */
  | { kind: 'selection'; buffer: SharedArrayBuffer; layout: SelectionLayout }
  /**
   * Encoder product for the slice's features. ReLU: the (sparse) scan and the slice's partial
   * reconstruction follow at once. `select` (TopK / BatchTopK, sparse only): the pre-activations
   * are kept and the slice's candidates written (selection.ts); 'select' and 'scan' follow.
   * `jumprelu`: the activation is against the slice's learned thresholds, and the entries within
   * halfBandwidth of them are recorded (slice-jumprelu.ts).
   */
  | { kind: 'encode'; rows: number; dense: boolean; select?: WorkerSelection; jumprelu?: { halfBandwidth: number } }
  /** The worker's share of the selection's thresholds, from every slice's candidates. */
  | { kind: 'select'; rows: number }
  /** The scan of the kept pre-activations against the thresholds, the partial reconstruction (and AuxK's). */
  | { kind: 'scan'; rows: number }
  /**
   * The worker's row range: G from every worker's partial reconstruction, G's column sums, squared
   * error, total variance; `aux`: AuxK's error of the residual too (row-reduce.ts).
   */
  | { kind: 'residual'; rows: number; aux: boolean }
  /**
   * Gradients of the slice's parameters given G (and the recipe's decoder-gradient projection);
   * auxScale (AuxK): 2 coefficient / the residual's total variance, for AuxK's gradients.
   * jumprelu: its gradients instead of the L1 penalty's, log_threshold's included (slice-jumprelu.ts).
   */
  | { kind: 'backward'; rows: number; l1Coefficient: number; penalty: SparsityPenalty; project: boolean; auxScale?: number; jumprelu?: JumpReluBackward }
  /** Adam on the slice's parameters (`thresholds`: log_threshold's too), then (Towards Monosemanticity) unit-norm decoder rows. */
  | { kind: 'update'; consts: AdamStepConsts; renorm: boolean; thresholds?: boolean }
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
  | { kind: 'centre' }
  | { kind: 'selection' }
  | { kind: 'residual'; sse: number; totalVariance: number; auxSse: number; residualSq: number }
  /** nnz -1: more active entries than the slice's capacity (nothing else was written); 0 when a scan follows. */
  | { kind: 'encode'; nnz: number; ms: { encode: number; decode: number } }
  | { kind: 'select' }
  | { kind: 'scan'; nnz: number; ms: { encode: number; decode: number } }
  | { kind: 'backward'; l1Sum: number; sumSquares: number }
  | { kind: 'update' }
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
