/**
 * The sparse step's host loops alone, JavaScript (jsLoops) against WebAssembly SIMD (simd-loops.ts),
 * single-threaded on random sparse codes of configs A and B's shapes, all arrays in one Arena.
 *
 *   node dist/bench/loops-bench.js [--json] [--repeats 5]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Arena } from '../step/kernels/arena.js';
import type { AdamStepConsts } from '../step/adam.js';
import { jsLoops, transposeActive, type LoopKernels } from '../step/kernels/loops.js';
import { loadSimdLoopsResult } from '../step/kernels/simd-loops.js';
import { Rng } from '../util/rng.js';

export interface LoopsBenchShape {
  config: string;
  batch: number;
  d: number;
  m: number;
  /** Mean active features per row (each row draws uniformly from [l0 / 2, 3 l0 / 2]). */
  l0: number;
}

export const LOOPS_BENCH_SHAPES: LoopsBenchShape[] = [
  { config: 'A', batch: 4096, d: 64, m: 1024, l0: 35 },
  { config: 'B', batch: 4096, d: 512, m: 8192, l0: 35 },
];

export type LoopName = 'decode' | 'gradPre' | 'weightGrads' | 'adam';

export interface LoopsBenchRow {
  config: string;
  loop: LoopName;
  batch: number;
  d: number;
  m: number;
  /** Active entries in the batch. */
  nnz: number;
  /** Floating-point operations of one call (decode, gradPre 2 nnz d; weightGrads 4 nnz d; adam 10 d m). */
  flops: number;
  /** Median milliseconds per call over the repeats. */
  jsMs: number;
  simdMs: number;
  jsGflops: number;
  simdGflops: number;
  /** jsMs / simdMs */
  speedup: number;
}

/** Every array the four loops touch, for one shape, in one Arena. */
function makeInputs(s: LoopsBenchShape, rng: Rng) {
  const { batch: B, d, m } = s;
  const counts = Array.from({ length: B }, () => Math.round(s.l0 / 2 + rng.next() * s.l0));
  const nnz = counts.reduce((a, b) => a + b, 0);
  // The lengths of the arrays allocated below, in order.
  const lengths = [B + 1, nnz, nnz, m + 1, nnz, nnz, m, m * d, B * d, B * d, B * d, m, m, m, nnz, d * m, m * d, d, d, m * d, m * d];
  const arena = new Arena(Arena.bytesFor(lengths.map((n) => 4 * n)));
  const normal = (a: Float32Array, scale: number) => {
    for (let i = 0; i < a.length; i++) a[i] = scale * rng.normal();
    return a;
  };
  const rowPtr = arena.i32(B + 1);
  const col = arena.i32(nnz);
  const val = arena.f32(nnz);
  const fired = new Float32Array(m);
  const pick = new Int32Array(m).map((_, i) => i);
  let k = 0;
  for (let b = 0; b < B; b++) {
    // The first counts[b] of a partial Fisher-Yates shuffle: distinct features, then sorted as scanActive leaves them.
    for (let t = 0; t < counts[b]!; t++) {
      const u = t + rng.int(m - t);
      [pick[t], pick[u]] = [pick[u]!, pick[t]!];
    }
    const row = pick.slice(0, counts[b]!).sort();
    for (const i of row) {
      col[k] = i;
      val[k++] = rng.next();
      fired[i]! += 1;
    }
    rowPtr[b + 1] = k;
  }
  const cscPtr = arena.i32(m + 1);
  const cscRow = arena.i32(nnz);
  const cscEntry = arena.i32(nnz);
  transposeActive(B, 0, m, { rowPtr, col, val }, fired, cscPtr, arena.i32(m), cscRow, cscEntry);
  return {
    arena, nnz, rowPtr, col, val, cscPtr, cscRow, cscEntry,
    W_dec: normal(arena.f32(m * d), 0.05),
    G: normal(arena.f32(B * d), 1e-3),
    xc: normal(arena.f32(B * d), 1),
    out: arena.f32(B * d),
    spars: normal(arena.f32(m), 1e-6),
    decay: normal(arena.f32(m), 1e-3),
    gb_enc: arena.f32(m),
    gPre: normal(arena.f32(nnz), 1e-4),
    gW_enc: arena.f32(d * m),
    gW_dec: normal(arena.f32(m * d), 1e-4),
    accE: arena.f32(d),
    accD: arena.f32(d),
    mom: arena.f32(m * d),
    vel: arena.f32(m * d),
  };
}

const ADAM: AdamStepConsts = { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 1e-3, sqrtBc2: 0.5, gradScale: 1 };

function medianMs(repeats: number, run: () => void): number {
  run(); // warm-up: tier-up of the JS, first touch of the pages
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(repeats / 2)]!;
}

/** Times each loop over the whole feature range, JS then SIMD, on the same arrays. */
export async function runLoopsBench(
  shapes: LoopsBenchShape[] = LOOPS_BENCH_SHAPES,
  repeats = 5,
  onLog: (line: string) => void = () => {},
): Promise<LoopsBenchRow[]> {
  const rows: LoopsBenchRow[] = [];
  for (const s of shapes) {
    onLog(`loops bench: config ${s.config} (B=${s.batch}, d=${s.d}, m=${s.m}) ...`);
    const x = makeInputs(s, new Rng(`loops-bench-${s.config}`));
    const loaded = loadSimdLoopsResult(x.arena.memory);
    if (!loaded.kernels) throw new Error(`the SIMD loops did not load: ${loaded.reason}`);
    const { batch: B, d, m } = s;
    const calls: Record<LoopName, [number, (k: LoopKernels) => void]> = {
      decode: [2 * x.nnz * d, (k) => k.decode(B, d, x.rowPtr, x.col, x.val, x.W_dec, x.out)],
      gradPre: [
        2 * x.nnz * d,
        (k) => {
          x.gb_enc.fill(0);
          k.gradPre(B, d, x.rowPtr, x.col, x.G, x.W_dec, x.spars, x.gPre, x.gb_enc);
        },
      ],
      weightGrads: [
        4 * x.nnz * d,
        (k) =>
          k.weightGrads(
            0, m, d, m, x.cscPtr, x.cscRow, x.cscEntry, x.gPre, x.val, x.xc, x.G, x.W_dec, x.decay, x.gW_enc, x.gW_dec,
            x.accE, x.accD,
          ),
      ],
      adam: [10 * d * m, (k) => k.adam(x.W_dec, x.gW_dec, x.mom, x.vel, 0, d * m, ADAM)],
    };
    for (const [loop, [flops, call]] of Object.entries(calls) as [LoopName, (typeof calls)[LoopName]][]) {
      const jsMs = medianMs(repeats, () => call(jsLoops));
      const simdMs = medianMs(repeats, () => call(loaded.kernels!));
      rows.push({
        config: s.config, loop, batch: B, d, m, nnz: x.nnz, flops, jsMs, simdMs,
        jsGflops: flops / jsMs / 1e6,
        simdGflops: flops / simdMs / 1e6,
        speedup: jsMs / simdMs,
      });
    }
    if (loaded.calls.js > 0) throw new Error(`the SIMD loops fell back to JavaScript ${loaded.calls.js} times`);
  }
  return rows;
}

/** The rows as a markdown table. */
export function formatLoopsBench(rows: LoopsBenchRow[]): string {
  const f = (n: number, digits: number) => n.toFixed(digits);
  const lines = [
    '| config | loop | B | d | m | nnz | JS ms | SIMD ms | JS GFLOP/s | SIMD GFLOP/s | speedup |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.config} | ${r.loop} | ${r.batch} | ${r.d} | ${r.m} | ${r.nnz} | ${f(r.jsMs, 2)} | ${f(r.simdMs, 2)} | ` +
        `${f(r.jsGflops, 2)} | ${f(r.simdGflops, 2)} | ${f(r.speedup, 1)}x |`,
    );
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { json: { type: 'boolean', default: false }, repeats: { type: 'string', default: '5' } },
  });
  const rows = await runLoopsBench(LOOPS_BENCH_SHAPES, Number(values.repeats), (l) => process.stderr.write(`${l}\n`));
  process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : formatLoopsBench(rows));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
