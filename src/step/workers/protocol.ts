import type { SparsityPenalty } from '../../sae/gradients.js';
import type { AdamStepConsts } from '../adam.js';
import type { SharedLayout } from './layout.js';

/** Messages from the step kernel to a worker; each is answered by one WorkerReply. */
export type WorkerRequest =
  | { kind: 'init'; memory: WebAssembly.Memory; layout: SharedLayout; slice: number; backend: string; simd: boolean }
  /** The worker's row range of the batch: xc = x - b_dec and x's column sums (row-reduce.ts). */
  | { kind: 'centre'; rows: number }
  /**
   * Encoder product, ReLU and (sparse) scan for the slice's features, then its partial reconstruction.
   * rowThreshold [rows] (TopK / BatchTopK): the scan keeps pre > rowThreshold[b] (sae/activation.ts).
   */
  | { kind: 'encode'; rows: number; dense: boolean; rowThreshold?: Float32Array }
  /** The worker's row range: G from every worker's partial reconstruction, G's column sums, squared error, total variance. */
  | { kind: 'residual'; rows: number }
  /** Gradients of the slice's parameters given G (and the recipe's decoder-gradient projection). */
  | { kind: 'backward'; rows: number; l1Coefficient: number; penalty: SparsityPenalty; project: boolean }
  /** Adam on the slice's parameters, then (Towards Monosemanticity) unit-norm decoder rows. */
  | { kind: 'update'; consts: AdamStepConsts; renorm: boolean }
  /** The worker's live tensor count (tests: nothing leaks from step to step). */
  | { kind: 'tensors' };

export type WorkerReply =
  | { kind: 'init'; loops: string }
  | { kind: 'centre' }
  | { kind: 'residual'; sse: number; totalVariance: number }
  /** nnz -1: more active entries than the slice's capacity (nothing else was written). */
  | { kind: 'encode'; nnz: number; ms: { encode: number; decode: number } }
  | { kind: 'backward'; l1Sum: number; sumSquares: number }
  | { kind: 'update' }
  | { kind: 'tensors'; count: number }
  | { kind: 'error'; message: string; stack?: string };
