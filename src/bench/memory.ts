/**
 * `npm run bench:memory`: resident memory of the data path and of training is bounded by the
 * shuffle buffer, the batch and the weights, not by the dataset size (issue "Never lose a run").
 * Generates a synthetic dump of several GiB, streams all of it, trains on it, reports peak RSS.
 *
 *   node dist/bench/memory.js [--gib 3] [--dim 256] [--steps 300] [--dir <folder>] [--keep] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { validateConfig } from '../config/load.js';
import { synthPaths, writeSynthetic } from '../data/synth/write.js';
import { SYNTH_DEFAULTS } from '../data/synth/synth.js';
import { measureDataThroughput } from '../data/throughput.js';
import { layoutBytes, DEFAULT_SPARSE_CAPACITY } from '../step/workers/layout.js';
import { defaultWorkers } from '../step/engine.js';
import { train } from '../train/trainer.js';

export interface MemoryBenchOptions {
  /** Approximate size of the generated training file. */
  bytes: number;
  dim: number;
  steps: number;
  width: number;
  batchSize: number;
  shuffleBuffer: number;
  statsRows: number;
  /** Folder for the dump and the run (default: a fresh temp folder). */
  dir?: string;
  /** Keep (and reuse) the generated files. */
  keep: boolean;
  backend: 'wasm' | 'cpu';
  onLog?: (line: string) => void;
}

export const MEMORY_DEFAULTS: Omit<MemoryBenchOptions, 'bytes'> = {
  dim: 256, steps: 300, width: 1024, batchSize: 4096, shuffleBuffer: 65536, statsRows: 20000, keep: false, backend: 'wasm',
};

/** Predicted resident-memory bound in bytes (float32 everywhere). */
export interface MemoryBound {
  shuffleBuffer: number;
  batchIntermediates: number;
  weightsAndAdam: number;
  /** The step's worker threads: their runtimes and the shared memory (0 with one thread). */
  workers: number;
  baseline: number;
  total: number;
}

/** A worker thread's own runtime (V8 isolate, tfjs, the wasm backend), measured at ~36 MiB. */
export const WORKER_BASELINE_BYTES = 40 * 1024 * 1024;

/** Runtime baseline (Node + tfjs + wasm heap growth headroom) measured at ~300 MB on small runs. */
export const BASELINE_BYTES = 300 * 1024 * 1024;

export function memoryBound(
  p: { shuffleBuffer: number; batchSize: number; d: number; m: number; workers: number },
  baseline = BASELINE_BYTES,
): MemoryBound {
  const shuffleBuffer = p.shuffleBuffer * p.d * 4;
  // pre-activations, f, dL/df and a transient copy: ~4 tensors [batch, m].
  const batchIntermediates = 4 * p.batchSize * p.m * 4;
  // W_enc, W_dec and their two Adam moments each: 6 x [d, m].
  const weightsAndAdam = 6 * p.d * p.m * 4;
  // The [batch, m] intermediates move to the workers (split between them); the state, gradients,
  // step buffers and sparse entry buffers live once more in their shared memory.
  const workers = p.workers > 0 ? p.workers * WORKER_BASELINE_BYTES + layoutBytes(p.batchSize, p.d, p.m, p.workers, DEFAULT_SPARSE_CAPACITY) : 0;
  return {
    shuffleBuffer,
    batchIntermediates,
    weightsAndAdam,
    workers,
    baseline,
    total: shuffleBuffer + batchIntermediates + weightsAndAdam + workers + baseline,
  };
}

export interface MemoryReport {
  file: string;
  fileBytes: number;
  generatedSeconds: number | null;
  dataPass: { rows: number; seconds: number; rowsPerSecond: number; peakRssBytes: number };
  training: { steps: number; tokens: number; seconds: number; backend: string; workers: number; peakRssBytes: number };
  bound: MemoryBound;
  options: Omit<MemoryBenchOptions, 'onLog'>;
}

const peakRss = () => process.resourceUsage().maxRSS * 1024;

export async function runMemoryBench(o: MemoryBenchOptions): Promise<MemoryReport> {
  const log = o.onLog ?? (() => {});
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sae-membench-'));
  fs.mkdirSync(dir, { recursive: true });
  const rows = Math.ceil(o.bytes / (o.dim * 4));
  const evalRows = Math.min(o.statsRows, Math.max(1, Math.floor(rows / 10)));
  const paths = synthPaths(path.join(dir, `memory-d${o.dim}-r${rows}.arrow`));
  const runDir = path.join(dir, 'run');
  try {
    let generatedSeconds: number | null = null;
    if (o.keep && fs.existsSync(paths.summary)) {
      log(`reusing ${paths.activations}`);
    } else {
      log(`generating ${rows} rows x ${o.dim} (${(o.bytes / 2 ** 30).toFixed(2)} GiB) in ${paths.activations}`);
      const r = await writeSynthetic({ ...SYNTH_DEFAULTS, rows, dim: o.dim, out: paths.activations, evalRows, force: true });
      generatedSeconds = r.seconds;
    }
    const fileBytes = fs.statSync(paths.activations).size;

    log('streaming the whole file through the data path');
    const t = await measureDataThroughput([paths.activations], { batchSize: o.batchSize, shuffleBuffer: o.shuffleBuffer });
    const dataPass = { ...t, peakRssBytes: peakRss() };
    log(`data pass: ${t.rows} rows, ${Math.round(t.rowsPerSecond)} rows/s, peak RSS ${mib(dataPass.peakRssBytes)}`);

    const workers = defaultWorkers(o.backend);
    const config = validateConfig(
      {
        data: { train: paths.activations, eval: paths.eval, shuffleBuffer: o.shuffleBuffer },
        // l1 pinned at the old default so the numbers compare with BENCHMARKS.md (the default is now 'auto').
        sae: { width: o.width, l1: 5e-3 },
        train: { steps: o.steps, batchSize: o.batchSize, logEvery: Math.max(1, Math.floor(o.steps / 10)), workers },
        // Scoring is streamed; fewer samples only shortens the benchmark.
        resample: { samples: 65536 },
        output: { dir, name: 'run', statsRows: o.statsRows, checkpointEverySteps: 100 },
        runtime: { backend: o.backend },
      },
      dir,
      'memory benchmark config',
    );
    const r = await train({ config, force: true }, { onLog: log });
    const training = { steps: r.steps, tokens: r.tokens, seconds: r.seconds, backend: r.backend, workers, peakRssBytes: peakRss() };
    log(`training: ${r.steps} steps in ${r.seconds.toFixed(0)} s, peak RSS ${mib(training.peakRssBytes)}`);

    const { onLog: _l, ...options } = o;
    const bound = memoryBound({ shuffleBuffer: o.shuffleBuffer, batchSize: o.batchSize, d: o.dim, m: o.width, workers });
    return { file: paths.activations, fileBytes, generatedSeconds, dataPass, training, bound, options: { ...options, dir } };
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
    if (!o.keep) {
      for (const f of Object.values(paths)) fs.rmSync(f, { force: true });
      if (!o.dir) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

export function formatMemoryReport(r: MemoryReport): string {
  const b = r.bound;
  const rows: [string, string][] = [
    ['training file', `${mib(r.fileBytes)} (${(r.fileBytes / 2 ** 30).toFixed(2)} GiB)${r.generatedSeconds !== null ? `, generated in ${r.generatedSeconds.toFixed(0)} s` : ', reused'}`],
    ['data pass', `${r.dataPass.rows} rows, ${Math.round(r.dataPass.rowsPerSecond)} rows/s, peak RSS ${mib(r.dataPass.peakRssBytes)}`],
    ['training', `${r.training.steps} steps (${r.training.backend}, ${r.training.workers} worker thread(s)), ${r.training.seconds.toFixed(0)} s, peak RSS ${mib(r.training.peakRssBytes)}`],
    ['bound: shuffle buffer', `${r.options.shuffleBuffer} x ${r.options.dim} x 4 B = ${mib(b.shuffleBuffer)}`],
    ['bound: batch intermediates', `4 x ${r.options.batchSize} x ${r.options.width} x 4 B = ${mib(b.batchIntermediates)}`],
    ['bound: weights + Adam', `6 x ${r.options.dim} x ${r.options.width} x 4 B = ${mib(b.weightsAndAdam)}`],
    ['bound: worker threads', `${mib(b.workers)} (runtimes + shared memory)`],
    ['bound: runtime baseline', mib(b.baseline)],
    ['predicted bound', `${mib(b.total)} (measured peak ${mib(Math.max(r.dataPass.peakRssBytes, r.training.peakRssBytes))}, file ${mib(r.fileBytes)})`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      gib: { type: 'string', default: '3' },
      dim: { type: 'string', default: String(MEMORY_DEFAULTS.dim) },
      steps: { type: 'string', default: String(MEMORY_DEFAULTS.steps) },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const report = await runMemoryBench({
    ...MEMORY_DEFAULTS,
    bytes: Math.round(Number(values.gib) * 2 ** 30),
    dim: Number(values.dim),
    steps: Number(values.steps),
    keep: values.keep,
    ...(values.dir ? { dir: path.resolve(values.dir) } : {}),
    onLog: (l) => process.stderr.write(`${l}\n`),
  });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatMemoryReport(report)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
