/**
 * `npm run bench`: training throughput of configs A, B, C (and A on the real-model fixture) per
 * phase, peak memory, the backend's matMul yardstick, and the data path alone; beside the relu
 * rows the PyTorch peer measured in the same sitting at --peer-threads (step-peer.ts; --no-peer:
 * the quoted range from ../shared/PERF.md, labelled).
 * Each measurement runs in its own process (clean peak RSS and wasm heap).
 *
 *   node dist/bench/main.js [--json] [--configs A,B,C,A-real] [--regimes init,trained]
 *     [--kernels auto] [--workers 0,1,2] [--simd on|off] [--backend wasm] [--target-l0 32]
 *     [--architecture relu,topk,batchtopk,jumprelu] (topk / batchtopk: k = --target-l0; architecture.ts)
 *     [--sparse-capacity 0.25] (the workers' entry buffers, a fraction of batch x slice width; layout.ts)
 *     [--no-data] [--data-only] [--data-widths 64,512] (default: 64,512; with --backend webgpu the configs' widths)
 *     [--no-loops] [--no-model] [--model-only] [--no-large-models] [--model-quick]
 * The language model's forward pass (model.ts: stories260K harvest and spliced eval, 15M/110M
 * random models) runs last, in its own process; `--model-only` runs only that.
 * `--whole-run [--cases B,stories260k] [--steps N] [--peer-threads 1,2] [--peer-probe-steps 20]
 * [--peer-tokens-per-s B=5200] [--no-peer] [--rounds 1] [--keep] [--workers N]`: whole training runs instead (whole-run/), beside
 * the PyTorch peer: 20-step probes at each thread count pick its one full run (0: a full run at each).
 * With --backend webgpu the defaults are configs A,B,C,G,L, the init regime, the dense step on
 * one thread, and no host-loop or language-model bench; each row adds the GPU phases, memory and adapter.
 * `--whole-run --backend webgpu --no-peer` trains the whole runs on the GPU (the data path included).
 * `--resample-scoring [--configs B] [--workers 2] [--rows 65536] [--json]`: one resampling event's
 * pool scoring with tfjs on one thread and on the step's workers (resample-score.ts).
 * `--startup [--repeats 5] [--json]`: the CLI's start-up per command, the workers' start, and
 * tfjs loaded by import and by require (startup.ts).
 * `--slice-work [--configs B,C] [--workers 2,8,16] [--target-l0 32] [--json]`: the total work of a
 * trained sparse step split into that many workers' slices, per phase, on one thread (slice-work.ts):
 * what grows with the worker count, measurable on any machine.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '../backend/tfjs.js';
import { LOOPS_BENCH_SHAPES, runLoopsBench } from './loops-bench.js';
import { defaultWorkers, type KernelKind } from '../step/engine.js';
import { BENCH_ARCHITECTURES, GPU_CONFIGS, SHAPES, type BenchArchitecture, type BenchRegime, type BenchSpec } from './configs.js';
import { runDataBench } from './data-bench.js';
import { formatReport, type BenchReport } from './report.js';
import { formatModelBench, runModelChild } from './model.js';
import { runTrainBench, type TrainBenchResult } from './train-bench.js';
import { runWholeRunBench } from './whole-run/bench.js';
import { formatWholeRuns } from './whole-run/report.js';
import { WHOLE_RUN_CASES } from './whole-run/run.js';
import { findPeerScript, findTorchPython, parsePeerFigures } from './whole-run/torch-peer.js';
import { runStepPeer } from './step-peer.js';
import { BACKEND_CHOICES, type BackendChoice } from '../backend/choices.js';
import { formatResampleScore, runResampleScoreBench } from './resample-score.js';
import { formatSliceWork, runSliceWorkBench } from './slice-work.js';
import { formatStartup, runStartupBench } from './startup.js';

function list<T extends string>(s: string, allowed: readonly string[], what: string): T[] {
  const items = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const it of items) if (!allowed.includes(it)) throw new Error(`--${what}: unknown '${it}' (expected ${allowed.join(', ')})`);
  return items as T[];
}

/** '1,2,4' -> [1, 2, 4]; anything but whole numbers >= 1 is an error naming the flag. */
function counts(s: string, what: string): number[] {
  return s.split(',').map((w) => {
    const n = Number(w);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${what}: expected whole numbers >= 1, got '${s}'`);
    return n;
  });
}

/** One whole number >= 0 (e.g. --workers 0 for the main thread alone). */
function wholeCount(s: string, what: string): number {
  const n = Number(s);
  if (s.trim() === '' || !Number.isInteger(n) || n < 0) throw new Error(`--${what}: expected one whole number >= 0, got '${s}'`);
  return n;
}

function runChild(spec: BenchSpec): Promise<TrainBenchResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last) return reject(new Error(`benchmark of ${spec.shape.name} (${spec.architecture ?? 'relu'}, ${spec.regime}, ${spec.kernel}) exited with ${code}`));
      resolve(JSON.parse(last) as TrainBenchResult);
    });
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      configs: { type: 'string' },
      regimes: { type: 'string' },
      kernels: { type: 'string' },
      workers: { type: 'string' },
      simd: { type: 'string', default: 'on' },
      backend: { type: 'string' },
      'target-l0': { type: 'string', default: '32' },
      'sparse-capacity': { type: 'string' },
      architecture: { type: 'string', default: 'relu' },
      seed: { type: 'string', default: '0' },
      'no-data': { type: 'boolean', default: false },
      'data-widths': { type: 'string' },
      'data-only': { type: 'boolean', default: false },
      'no-loops': { type: 'boolean', default: false },
      'no-model': { type: 'boolean', default: false },
      'model-only': { type: 'boolean', default: false },
      'no-large-models': { type: 'boolean', default: false },
      'model-quick': { type: 'boolean', default: false },
      child: { type: 'string' },
      'whole-run': { type: 'boolean', default: false },
      cases: { type: 'string', default: 'B,stories260k' },
      steps: { type: 'string' },
      'peer-threads': { type: 'string', default: '1,2' },
      'peer-probe-steps': { type: 'string', default: '20' },
      'peer-tokens-per-s': { type: 'string' },
      'no-peer': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '1' },
      'resample-scoring': { type: 'boolean', default: false },
      rows: { type: 'string', default: '65536' },
      startup: { type: 'boolean', default: false },
      repeats: { type: 'string', default: '5' },
      'slice-work': { type: 'boolean', default: false },
    },
  });
  if (values['whole-run']) return wholeRunMain(values);
  if (values['resample-scoring']) return resampleScoringMain(values);
  if (values.startup) return startupMain(values);
  if (values['slice-work']) return sliceWorkMain(values);
  if (values.child) {
    const result = await runTrainBench(JSON.parse(values.child) as BenchSpec);
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  }
  const backend = list<BenchSpec['backend']>(values.backend ?? 'wasm', ['wasm', 'cpu', 'tensorflow', 'webgpu', 'auto'], 'backend')[0]!;
  const gpu = backend === 'webgpu';
  const configs = list<string>(values.configs ?? (gpu ? GPU_CONFIGS : 'A,A-real,B,C'), Object.keys(SHAPES), 'configs');
  const regimes = list<BenchRegime>(values.regimes ?? (gpu ? 'init' : 'init,trained'), ['init', 'trained'], 'regimes');
  const kernels = list<KernelKind>(values.kernels ?? (gpu ? 'dense' : 'auto'), ['auto', 'dense', 'sparse'], 'kernels');
  const workers = values.workers ?? (gpu ? '0' : String(defaultWorkers()));
  const workerCounts = workers.split(',').map((w) => {
    const n = Number(w);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--workers: expected a comma-separated list of counts >= 0 (0: the main thread alone), got '${values.workers}'`);
    return n;
  });
  const simd = list<'on' | 'off'>(values.simd, ['on', 'off'], 'simd')[0] === 'on';
  const targetL0 = Number(values['target-l0']);
  const architectures = list<BenchArchitecture>(values.architecture, BENCH_ARCHITECTURES, 'architecture');
  // topk / batchtopk keep k = --target-l0 per row.
  const needsK = architectures.some((a) => a === 'topk' || a === 'batchtopk');
  if (!(targetL0 > 0) || (needsK && !Number.isInteger(targetL0))) {
    throw new Error(`--target-l0: expected ${needsK ? 'a whole number >= 1 (k of topk / batchtopk)' : 'a number > 0'}, got '${values['target-l0']}'`);
  }
  const sparseCapacity = values['sparse-capacity'] === undefined ? undefined : Number(values['sparse-capacity']);
  if (sparseCapacity !== undefined && !(sparseCapacity > 0 && sparseCapacity <= 1)) {
    throw new Error(`--sparse-capacity: expected a fraction in (0, 1] of batch x slice width, got '${values['sparse-capacity']}'`);
  }
  const log = (s: string) => process.stderr.write(s + '\n');

  const report: BenchReport = {
    machine: machineInfo(),
    train: [],
    data: [],
    loops: [],
  };
  const modelOnly = values['model-only'];
  if (!values['data-only'] && !modelOnly) {
    for (const c of configs) {
      for (const architecture of architectures) {
        for (const regime of regimes) {
          for (const kernel of kernels) {
            for (const workers of workerCounts) {
              // A GPU step of A, B or C takes milliseconds: time ten times as many.
              const base = SHAPES[c]!;
              const shape = gpu && ['A', 'A-real', 'B', 'C'].includes(c) ? { ...base, stepsPerWindow: base.stepsPerWindow * 10 } : base;
              const spec: BenchSpec = {
                ...{ shape, regime, kernel, workers, simd, backend, targetL0, architecture, seed: Number(values.seed) },
                ...(sparseCapacity !== undefined ? { sparseCapacity } : {}),
              };
              log(`bench: config ${c}, ${architecture}, ${regime} regime, kernel ${kernel}, ${workers} worker(s) ...`);
              const r = await runChild(spec);
              log(`  ${Math.round(r.tokensPerSecond)} tokens/s (L0 ${r.l0.toFixed(1)}, ${r.msPerStep.total.toFixed(1)} ms/step, ${r.ran})`);
              report.train.push(r);
            }
          }
        }
      }
    }
  }
  // The PyTorch peer beside the relu rows, in this sitting (step-peer.ts), unless --no-peer or a GPU bench.
  const reluShapes = [...new Map(report.train.filter((t) => t.architecture === 'relu').map((t) => [`${t.d}/${t.m}/${t.batch}`, SHAPES[t.config]!])).values()];
  if (reluShapes.length && !values['no-peer'] && !gpu) {
    const python = findTorchPython();
    const script = python ? findPeerScript() : null;
    if (python && script) {
      const threads = counts(values['peer-threads'], 'peer-threads');
      report.peers = [];
      for (const s of reluShapes) report.peers.push(await runStepPeer(python, script, s, threads, log));
    } else log('bench: no Python with torch (python3, /usr/bin/python3) or no torch_sae.py: the PyTorch column quotes ../shared/PERF.md');
  }
  if (!values['no-data'] && !modelOnly) {
    log('bench: data path ...');
    // On a GPU the data path can be what limits training: measure it at the widths trained.
    const widths = values['data-widths'] ? counts(values['data-widths'], 'data-widths') : gpu ? [...new Set(configs.map((c) => SHAPES[c]!.d))] : undefined;
    report.data = await runDataBench(widths);
  }
  if (!values['no-loops'] && !values['data-only'] && !gpu && !modelOnly) report.loops = await runLoopsBench(LOOPS_BENCH_SHAPES, 5, log);
  // The language model's forward pass runs on the CPU whatever the backend: not part of a GPU bench.
  const model = !values['no-model'] && !values['data-only'] && !gpu ? await runModelChild({ large: !values['no-large-models'], quick: values['model-quick'] }, log) : undefined;
  if (values.json) process.stdout.write(JSON.stringify({ ...report, ...(model ? { model } : {}) }, null, 2) + '\n');
  else process.stdout.write(formatReport(report) + (model ? '\n' + formatModelBench(model) + '\n' : ''));
  return 0;
}

async function wholeRunMain(v: Record<string, string | boolean | undefined>): Promise<number> {
  const rows = await runWholeRunBench(
    {
      cases: list<string>(v.cases as string, Object.keys(WHOLE_RUN_CASES), 'cases'),
      steps: v.steps === undefined ? null : counts(v.steps as string, 'steps')[0]!,
      peerThreads: counts(v['peer-threads'] as string, 'peer-threads'),
      peerProbeSteps: v['peer-probe-steps'] === '0' ? 0 : counts(v['peer-probe-steps'] as string, 'peer-probe-steps')[0]!,
      peerFigures: parsePeerFigures(v['peer-tokens-per-s'] as string | undefined),
      peer: !v['no-peer'],
      rounds: counts(v.rounds as string, 'rounds')[0]!,
      keep: Boolean(v.keep),
      ...(v.backend ? { backend: list<BackendChoice>(v.backend as string, BACKEND_CHOICES, 'backend')[0]! } : {}),
      ...(v.workers !== undefined ? { workers: wholeCount(v.workers as string, 'workers') } : {}),
    },
    (s) => process.stderr.write(s + '\n'),
  );
  const machine = { ...machineInfo(), workers: defaultWorkers() };
  if (v.json) process.stdout.write(JSON.stringify({ machine, wholeRuns: rows }, null, 2) + '\n');
  else process.stdout.write(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; node ${machine.node}; ${machine.date}; ${v.workers !== undefined ? `train.workers ${String(v.workers)}` : `workers auto = ${machine.workers}`}\n\n` + formatWholeRuns(rows));
  return 0;
}

async function resampleScoringMain(values: { configs?: string | undefined; workers?: string | undefined; rows: string; seed: string; json: boolean }): Promise<number> {
  const log = (s: string) => process.stderr.write(s + '\n');
  const rows = counts(values.rows, 'rows')[0]!;
  const workers = counts(values.workers ?? String(defaultWorkers()), 'workers')[0]!;
  const results = [];
  for (const c of list<string>(values.configs ?? 'B', Object.keys(SHAPES), 'configs')) {
    results.push(await runResampleScoreBench(SHAPES[c]!, rows, workers, Number(values.seed), log));
  }
  printReport(results.map(formatResampleScore).join('\n'), values.json ? { machine: machineInfo(), resampleScoring: results } : null);
  return 0;
}

async function sliceWorkMain(values: { configs?: string | undefined; workers?: string | undefined; 'target-l0': string; seed: string; json: boolean }): Promise<number> {
  const log = (s: string) => process.stderr.write(s + '\n');
  const workers = counts(values.workers ?? '2,8,16', 'workers');
  const results = [];
  for (const c of list<string>(values.configs ?? 'B,C', Object.keys(SHAPES), 'configs')) {
    log(`slice work: config ${c}, ${workers.join(', ')} slices ...`);
    results.push(...(await runSliceWorkBench(SHAPES[c]!, workers, Number(values.seed), Number(values['target-l0']))));
  }
  printReport(formatSliceWork(results), values.json ? { machine: machineInfo(), sliceWork: results } : null);
  return 0;
}

async function startupMain(values: { repeats: string; json: boolean }): Promise<number> {
  const r = await runStartupBench(counts(values.repeats, 'repeats')[0]!, (s) => process.stderr.write(s + '\n'));
  printReport(formatStartup(r), values.json ? { machine: machineInfo(), startup: r } : null);
  return 0;
}

/**
 * A report's table goes to stdout (`> report.md` keeps it); with --json the JSON takes stdout and
 * the table goes to stderr beside the progress lines.
 */
function printReport(table: string, json: object | null): void {
  if (json) {
    process.stderr.write(table + '\n');
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  } else {
    process.stdout.write(table + '\n');
  }
}

function machineInfo(): BenchReport['machine'] {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    tfjs: tf.version.tfjs,
    platform: `${os.platform()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
