import { adamConsts, adamRun, type AdamHyper } from '../adam.js';
import { clipScale, sumSquares } from '../clip.js';
import type { SparsityPenalty } from '../../sae/gradients.js';
import type { JumpReluStep } from '../../sae/jumprelu.js';
import { viewsOf, type SharedLayout, type SliceViews, type StateViews } from './layout.js';
import { addParts } from './row-reduce.js';
import type { WorkerSelection } from './selection.js';
import type { ScreenMode, SliceCompute } from './slice-compute.js';
import { ScreenChoice } from './screen-choice.js';
import { SLOT, StepAborted, type StepSync } from './step-sync.js';

/** A whole training step, as the one message every worker gets (parallel-step.ts documents the phases). */
export interface SliceStepRequest {
  rows: number;
  /**
   * Where x comes from: the pool (the step's rowIndex names its rows; see ParallelStep.step), or
   * x as written; each value times `scale` unless it is 1 (row-reduce.ts loadRows).
   */
  input: { pooled: boolean; scale: number };
  /** The dense formulation on each slice (ReLU and JumpReLU). */
  dense: boolean;
  /** TopK / BatchTopK (and AuxK): the selection's phases run between encode and the residual. */
  select?: WorkerSelection;
  /** JumpReLU's step (sae/jumprelu.ts); its L0 is the batch's, summed from every slice at the barrier. */
  jumprelu?: JumpReluStep;
  l1Coefficient: number;
  penalty: SparsityPenalty;
  /** The decoder-gradient projection, and unit-norm decoder rows after Adam. */
  project: boolean;
  /** Global-norm clipping's limit; null: none. */
  clip: number | null;
  /** Adam's update number (1-based) for this step, its learning rate and hyper-parameters. */
  adam: { t: number; lr: number; hyper: AdamHyper };
  /** Whether ReLU's sparse encoder product may be screened when few entries were active in the last step (false: never; the same entries either way). */
  screen: boolean;
}

/** What a worker's step gives back: its sums (the main thread adds them in worker order), and its own clock's phases. */
export interface SliceStepResult {
  /** Another worker failed (its error is the step's), or a slice held more entries than its capacity (`declined`). */
  aborted?: boolean;
  declined?: boolean;
  nnz: number;
  sse: number;
  totalVariance: number;
  l1Sum: number;
  /** AuxK's loss (every worker computes the same). */
  auxLoss: number;
  /** Whether the encoder product was screened (every worker's, alike). */
  screened: boolean;
  /** Milliseconds from the step's start to the barrier after each phase group. */
  ms: { encode: number; decode: number; backward: number; optimizer: number };
}

/**
 * One worker's whole training step: its phases with the others', meeting at a barrier between
 * them, and what the main thread used to do between them (the batch mean, b_dec's gradient, the
 * clipping norm, Adam's constants) computed by every worker from the same shared sums in the same
 * order, so they agree to the bit; worker 0 alone applies Adam to b_dec. The arithmetic is the
 * five-message step's, operation for operation.
 */
export class SliceStep {
  private readonly others: SliceViews[];
  /** Every slice's column sums of x and of G over its rows, in worker order (made once, read every step). */
  private readonly xSums: Float64Array[];
  private readonly gSums: Float64Array[];
  private readonly s: StateViews;
  private readonly mean: Float64Array;
  private readonly gb_dec: Float32Array;
  /**
   * Whether ReLU's next sparse encoder product is screened, from the batch's active entries in
   * the last step: every worker sees the same sums, so all choose alike and share the rows' preparation.
   */
  private readonly screen = new ScreenChoice();

  constructor(
    memory: WebAssembly.Memory,
    private readonly layout: SharedLayout,
    private readonly slice: number,
    private readonly compute: SliceCompute,
    private readonly sync: StepSync,
  ) {
    this.others = layout.slices.map((sl) => viewsOf(memory, sl.arrays) as unknown as SliceViews);
    this.xSums = this.others.map((v) => v.xSum);
    this.gSums = this.others.map((v) => v.gSum);
    this.s = viewsOf(memory, layout.arrays) as unknown as StateViews;
    // In the shared memory, where the SIMD residual reads it.
    this.mean = this.others[slice]!.mean;
    this.gb_dec = new Float32Array(layout.d);
  }

  /** Runs the step; a failure aborts the other workers' (they return `aborted`) and is thrown. */
  run(req: SliceStepRequest): SliceStepResult {
    try {
      return this.phases(req);
    } catch (e) {
      if (e instanceof StepAborted) return { aborted: true, nnz: 0, sse: 0, totalVariance: 0, l1Sum: 0, auxLoss: 0, screened: false, ms: { encode: 0, decode: 0, backward: 0, optimizer: 0 } };
      this.sync.abort();
      throw e;
    }
  }

  private phases(req: SliceStepRequest): SliceStepResult {
    const { d } = this.layout;
    const { rows, select, jumprelu } = req;
    const { compute, sync, slice, s, mean, gb_dec } = this;
    const t0 = performance.now();
    compute.load(rows, req.input.pooled, req.input.scale);
    compute.centre(rows);
    sync.arrive();
    addParts(this.xSums, d, mean);
    for (let j = 0; j < d; j++) mean[j]! /= rows;

    // Screened over the rows every worker prepares a share of (the SIMD kernels; the JavaScript ones have no screen).
    let screen: ScreenMode = 'no';
    if (req.screen && !req.dense && !select && !jumprelu && compute.sharesScreen && this.screen.use()) {
      screen = 'shared';
      compute.prepareScreen(rows);
      sync.arrive();
    }
    const halfBandwidth = jumprelu ? { halfBandwidth: jumprelu.bandwidth / 2 } : undefined;
    let enc = compute.encode(rows, req.dense, select, halfBandwidth, screen);
    if (select) {
      sync.arrive();
      compute.thresholds(rows);
      sync.arrive();
      enc = compute.scan(rows);
    }
    sync.set(slice, SLOT.nnz, enc.nnz);
    sync.arrive();
    const tEncode = performance.now();
    const result = { nnz: enc.nnz, sse: 0, totalVariance: 0, l1Sum: 0, auxLoss: 0, screened: screen !== 'no' };
    for (let k = 0; k < sync.workers; k++) {
      if (sync.get(k, SLOT.nnz) < 0) {
        this.screen.observe(-1, rows * this.layout.m);
        return { ...result, declined: true, ms: { encode: tEncode - t0, decode: 0, backward: 0, optimizer: 0 } };
      }
    }
    const nnz = sync.sum(SLOT.nnz);
    this.screen.observe(nnz, rows * this.layout.m);

    const aux = select?.auxK;
    const res = compute.residual(rows, aux !== undefined, mean);
    sync.set(slice, SLOT.residualSq, res.residualSq);
    sync.set(slice, SLOT.auxSse, res.auxSse);
    sync.arrive();
    addParts(this.gSums, d, gb_dec);
    // AuxK (sae/auxk.ts): L_aux = c ||e_hat - e||^2 / total variance of e; e's column sums are -(rows/2) gb_dec.
    let auxScale: number | undefined;
    if (aux) {
      let meanSq = 0;
      for (let j = 0; j < d; j++) meanSq += (gb_dec[j]! * rows) ** 2 / 4;
      const tv = Math.max(sync.sum(SLOT.residualSq) - meanSq / rows, 1e-12);
      result.auxLoss = (aux.coefficient * sync.sum(SLOT.auxSse)) / tv;
      auxScale = (2 * aux.coefficient) / tv;
    }
    const tDecode = performance.now();

    const back = compute.backward(rows, req.l1Coefficient, req.penalty, req.project, auxScale, jumprelu ? { ...jumprelu, l0: nnz / rows } : undefined);
    sync.set(slice, SLOT.sumSquares, back.sumSquares);
    sync.arrive();
    for (const v of this.others) for (let j = 0; j < d; j++) gb_dec[j]! += v.bdecPart[j]!;
    const tBackward = performance.now();

    const gradScale = req.clip === null ? 1 : clipScale(sumSquares(gb_dec, 0, d, sync.sum(SLOT.sumSquares)), req.clip);
    const consts = adamConsts(req.adam.t, req.adam.lr, req.adam.hyper, gradScale);
    if (slice === 0) adamRun(s.b_dec, gb_dec, s.mb_dec, s.vb_dec, 0, d, consts);
    compute.update(consts, req.project, jumprelu !== undefined);
    const tEnd = performance.now();
    return {
      ...result,
      sse: res.sse,
      totalVariance: res.totalVariance,
      l1Sum: back.l1Sum,
      ms: { encode: tEncode - t0, decode: tDecode - tEncode, backward: tBackward - tDecode, optimizer: tEnd - tBackward },
    };
  }
}
