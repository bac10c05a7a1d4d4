import { initBackend } from '../backend/select.js';
import { columnMean, initWeights } from '../sae/init.js';
import type { SaeWeights } from '../sae/params.js';
import { adamConsts } from '../step/adam.js';
import { loadSimdLoopsResult } from '../step/kernels/simd-loops.js';
import { DEFAULT_SPARSE_CAPACITY, planLayout, viewsOf, type SliceViews, type StateViews } from '../step/workers/layout.js';
import { ScreenChoice } from '../step/workers/screen-choice.js';
import { SliceCompute, type ScreenMode } from '../step/workers/slice-compute.js';
import { Rng } from '../util/rng.js';
import { openBatchSource } from './bench-data.js';
import type { BenchShape } from './configs.js';
import { sparsifyEncoderBias } from './train-bench.js';

/** The phases of the workers' sparse ReLU step (slice-step.ts), as this bench times them. */
export const SLICE_PHASES = ['centre', 'prepare', 'encode', 'decode', 'residual', 'backward', 'update'] as const;
export type SlicePhase = (typeof SLICE_PHASES)[number];

export interface SliceWorkResult {
  config: string;
  d: number;
  m: number;
  batch: number;
  /** Feature slices: the worker count whose step this is. */
  slices: number;
  l0: number;
  /** Whether the timed steps' encoder products were screened (screen-choice.ts). */
  screened: boolean;
  /** Milliseconds per step of every slice's share of each phase, run one after another on this thread. */
  ms: Record<SlicePhase, number>;
  total: number;
  timedSteps: number;
}

/**
 * The work of one sparse ReLU step of a trained SAE split into feature slices, every slice's
 * share of each phase run in turn on the calling thread: the step's total CPU time as that many
 * workers would do it, without the machine's cores, the barriers or the messages. Work that grows
 * with the worker count shows here on any machine (on 16 cores it is the step's time times 16
 * when the slices run in parallel); what the cores add (memory bandwidth, wake-ups) needs that
 * machine. The slices' code is the workers' (slice-compute.ts), on the SIMD kernels. Each slice
 * count in `slicesList` has its own copy of the SAE and the steps go round them, one step each in
 * turn, so that a machine whose speed drifts slows them alike.
 */
export async function runSliceWorkBench(shape: BenchShape, slicesList: number[], seed: number, targetL0: number, timedSteps = 5): Promise<SliceWorkResult[]> {
  const { d, m, batch } = shape;
  await initBackend('wasm');
  const source = await openBatchSource(shape, seed);
  const w = initWeights(d, m, new Rng(seed).fork('init'), 1, columnMean(source.sample, source.sampleRows, d));
  await sparsifyEncoderBias(w, source.sample, source.sampleRows, targetL0);
  const runs = slicesList.map((k) => new SlicedStep(shape, k, w));
  // Two steps to warm up (the first has no density to choose the screen by), then the timed ones.
  for (let step = 0; step < 2 + timedSteps; step++) {
    const x = (await source.next()).subarray(0, batch * d);
    for (const r of runs) r.step(x, step + 1, step >= 2);
  }
  return runs.map((r) => r.result(timedSteps));
}

/** One slice count's copy of the SAE in a workers' layout, and its timings. */
class SlicedStep {
  private readonly s: StateViews;
  private readonly compute: SliceCompute[];
  private readonly views: SliceViews[];
  private readonly choice = new ScreenChoice();
  private readonly ms = Object.fromEntries(SLICE_PHASES.map((p) => [p, 0])) as Record<SlicePhase, number>;
  private nnzTimed = 0;
  private screened = true;

  constructor(
    private readonly shape: BenchShape,
    private readonly slices: number,
    w: SaeWeights,
  ) {
    const { layout, arena } = planLayout(shape.batch, shape.d, shape.m, slices, DEFAULT_SPARSE_CAPACITY);
    this.s = viewsOf(arena.memory, layout.arrays) as unknown as StateViews;
    this.s.W_enc.set(w.W_enc);
    this.s.b_enc.set(w.b_enc);
    this.s.W_dec.set(w.W_dec);
    this.s.b_dec.set(w.b_dec);
    const loaded = loadSimdLoopsResult(arena.memory);
    if (!loaded.kernels) throw new Error(`the slice-work bench needs the SIMD loops: ${loaded.reason}`);
    const loops = loaded.kernels;
    this.compute = layout.slices.map((_, k) => new SliceCompute(arena.memory, layout, k, loops));
    this.views = layout.slices.map((sl) => viewsOf(arena.memory, sl.arrays) as unknown as SliceViews);
  }

  /** One step on x (Adam's update t); its phases counted when `timed`. */
  step(x: Float32Array, t: number, timed: boolean): void {
    const { shape, compute, views, ms } = this;
    const { d, m, batch } = shape;
    const lap = (p: SlicePhase, t0: number) => {
      if (timed) ms[p] += performance.now() - t0;
    };
    this.s.x.set(x);
    let t0 = performance.now();
    for (const c of compute) c.centre(batch);
    lap('centre', t0);
    // Every worker's own copy of the batch mean (slice-step.ts), the sum of all slices' column sums.
    for (const v of views) for (let j = 0; j < d; j++) v.mean[j] = views.reduce((a, u) => a + u.xSum[j]!, 0) / batch;
    const mode: ScreenMode = this.choice.use() ? 'shared' : 'no';
    if (timed) this.screened &&= mode === 'shared';
    if (mode === 'shared') {
      t0 = performance.now();
      for (const c of compute) c.prepareScreen(batch);
      lap('prepare', t0);
    }
    let nnz = 0;
    for (const c of compute) {
      const e = c.encode(batch, false, undefined, undefined, mode);
      if (e.nnz < 0) throw new Error(`config ${shape.name}: a slice held more active entries than its buffers (too high an L0 target for this bench)`);
      nnz += e.nnz;
      if (timed) {
        ms.encode += e.ms.encode;
        ms.decode += e.ms.decode;
      }
    }
    this.choice.observe(nnz, batch * m);
    if (timed) this.nnzTimed += nnz;
    t0 = performance.now();
    compute.forEach((c, k) => c.residual(batch, false, views[k]!.mean));
    lap('residual', t0);
    t0 = performance.now();
    for (const c of compute) c.backward(batch, 1e-3, 'l1', false);
    lap('backward', t0);
    t0 = performance.now();
    // A small learning rate keeps the regime (L0) where it was set.
    for (const c of compute) c.update(adamConsts(t, 1e-5, ADAM), false);
    lap('update', t0);
  }

  result(timedSteps: number): SliceWorkResult {
    const { shape, ms } = this;
    const perStep = Object.fromEntries(SLICE_PHASES.map((p) => [p, ms[p] / timedSteps])) as Record<SlicePhase, number>;
    return {
      config: shape.name,
      d: shape.d,
      m: shape.m,
      batch: shape.batch,
      slices: this.slices,
      l0: this.nnzTimed / (timedSteps * shape.batch),
      screened: this.screened,
      ms: perStep,
      total: SLICE_PHASES.reduce((a, p) => a + perStep[p], 0),
      timedSteps,
    };
  }
}

const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/**
 * A table of the results (one row per config and slice count) with each total against the same
 * config's fewest slices, and for each config with 8 and 16 slices what 16 workers would give over
 * 8 if every worker had a core and the work divided evenly: 2 x total(8) / total(16).
 */
export function formatSliceWork(results: SliceWorkResult[]): string {
  const head = `| config | d | m | batch | slices | L0 | screened | ${SLICE_PHASES.join(' | ')} | total ms | vs fewest slices |`;
  const lines = [head, '|' + ' --- |'.repeat(head.split('|').length - 2)];
  const fewest = new Map<string, SliceWorkResult>();
  for (const r of results) {
    const f = fewest.get(r.config);
    if (!f || r.slices < f.slices) fewest.set(r.config, r);
  }
  for (const r of results) {
    const base = fewest.get(r.config)!;
    const cells = [r.config, r.d, r.m, r.batch, r.slices, r.l0.toFixed(1), r.screened ? 'yes' : 'no', ...SLICE_PHASES.map((p) => r.ms[p].toFixed(1)), r.total.toFixed(1), `${(r.total / base.total).toFixed(3)}x`];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const notes: string[] = [];
  for (const config of new Set(results.map((r) => r.config))) {
    const at = (k: number) => results.find((r) => r.config === config && r.slices === k);
    const [eight, sixteen] = [at(8), at(16)];
    if (eight && sixteen) notes.push(`${config}: 16 workers over 8, with a core each and the work evenly divided: ${((2 * eight.total) / sixteen.total).toFixed(2)}x`);
  }
  return [...lines, ...(notes.length ? ['', ...notes] : [])].join('\n');
}
