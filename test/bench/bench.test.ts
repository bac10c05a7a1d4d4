import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../src/backend/tfjs.js';
import { initBackend } from '../../src/backend/select.js';
import { runDataBench } from '../../src/bench/data-bench.js';
import { formatLoopsBench, runLoopsBench } from '../../src/bench/loops-bench.js';
import { median, sparsifyEncoderBias, type TrainBenchResult } from '../../src/bench/train-bench.js';
import { ceiling, formatReport } from '../../src/bench/report.js';
import { PHASES } from '../../src/util/phase-timer.js';
import { randomData, randomWeights } from '../helpers/tensors.js';
import { RUN_WEBGPU } from '../helpers/webgpu.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('bench helpers', () => {
  it('median of odd and even lists', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('sparsifyEncoderBias sets each feature to fire on ~targetL0/m of the rows', async () => {
    const d = 8;
    const m = 40;
    const rows = 400;
    const w = randomWeights(d, m, 3);
    const x = randomData(rows, d, 4);
    const before = tf.memory().numTensors;
    await sparsifyEncoderBias(w, x, rows, 4);
    expect(tf.memory().numTensors).toBe(before);
    let active = 0;
    for (let b = 0; b < rows; b++) {
      for (let i = 0; i < m; i++) {
        let p = w.b_enc[i]!;
        for (let j = 0; j < d; j++) p += (x[b * d + j]! - w.b_dec[j]!) * w.W_enc[j * m + i]!;
        if (p > 0) active++;
      }
    }
    // Each feature's threshold is its (1 - 4/40) quantile: ~4 of 40 fire per row.
    expect(active / rows).toBeGreaterThan(3.5);
    expect(active / rows).toBeLessThan(4.5);
  });
});

describe('npm run bench (tiny config)', () => {
  // Runs the built script (`npm test` builds dist/ first).
  it('prints JSON with tokens/s, phases, L0, peak RSS and the matMul yardstick for each run', async () => {
    const { stdout: out } = await promisify(execFile)(
      process.execPath,
      ['dist/bench/main.js', '--json', '--configs', 'tiny', '--kernels', 'dense,sparse', '--backend', 'cpu', '--target-l0', '4', '--no-data', '--no-loops', '--workers', '0,2', '--no-model'],
      { encoding: 'utf8' },
    );
    const report = JSON.parse(out);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.train).toHaveLength(8);
    let phaseMs = 0;
    let totalMs = 0;
    for (const t of report.train) {
      expect(t.config).toBe('tiny');
      expect(t.backend).toBe('cpu');
      expect(t.tokensPerSecond).toBeGreaterThan(0);
      expect(t.windowTokensPerSecond).toHaveLength(2);
      expect(t.peakRssBytes).toBeGreaterThan(1e6);
      expect(t.matMulGflops).toBeGreaterThan(0);
      let sum = 0;
      for (const p of PHASES) sum += t.msPerStep[p];
      // The phases split the step's time: never more than the window's.
      expect(sum).toBeLessThanOrEqual(t.msPerStep.total * 1.001);
      phaseMs += sum;
      totalMs += t.msPerStep.total;
    }
    // ...and cover it: what is left is the loop between steps (0-2% here when quiet). Summed over
    // the eight runs, since one run is 4 steps of a few ms and a single pause of the process
    // between two of them (a loaded CI machine: 26% once) says nothing about the phases.
    expect(phaseMs).toBeGreaterThan(0.9 * totalMs);
    const byRun = (regime: string, kernel: string, workers: number) =>
      report.train.find((t: { regime: string; kernel: string; workers: number }) => t.regime === regime && t.kernel === kernel && t.workers === workers);
    const [initDense, initSparse, trainedDense, trainedSparse] = [byRun('init', 'dense', 0), byRun('init', 'sparse', 0), byRun('trained', 'dense', 0), byRun('trained', 'sparse', 0)];
    // What ran: the main thread alone, or the two workers (sparse with the SIMD loops).
    expect(initDense.ran).toBe('dense');
    expect(byRun('init', 'dense', 2).ran).toBe('dense x2 workers');
    expect(byRun('trained', 'sparse', 2).ran).toBe('sparse x2 workers (simd)');
    // The main thread's serial share is measured with workers, and is zero without.
    expect(byRun('trained', 'sparse', 2).mainThreadMsPerStep).toBeGreaterThan(0);
    expect(byRun('trained', 'sparse', 0).mainThreadMsPerStep).toBe(0);
    expect(byRun('trained', 'sparse', 2).l0).toBeCloseTo(trainedSparse.l0, 1);
    expect(initDense.l0).toBeGreaterThan(16);
    expect(trainedDense.l0).toBeLessThan(8);
    // Same seed and data: both kernels see the same batches and sparsity.
    expect(initSparse.l0).toBeCloseTo(initDense.l0, 1);
    expect(trainedSparse.l0).toBeCloseTo(trainedDense.l0, 1);
  }, 300_000);
});

describe('npm run bench -- --architecture (tiny config)', () => {
  const bench = (args: string[]) => promisify(execFile)(process.execPath, ['dist/bench/main.js', '--configs', 'tiny', '--no-data', '--no-loops', '--no-model', ...args], { encoding: 'utf8' });

  it('measures each architecture; topk and batchtopk keep k = --target-l0, sparse on the workers, jumprelu too', async () => {
    const { stdout } = await bench(['--json', '--architecture', 'relu,topk,batchtopk,jumprelu', '--regimes', 'trained', '--kernels', 'auto', '--workers', '2', '--target-l0', '4']);
    const rows = JSON.parse(stdout).train as { architecture: string; regime: string; ran: string; l0: number; tokensPerSecond: number }[];
    expect(rows.map((r) => `${r.architecture} ${r.regime}`)).toEqual(['relu trained', 'topk trained', 'batchtopk trained', 'jumprelu trained']);
    for (const r of rows) expect(r.tokensPerSecond).toBeGreaterThan(0);
    // jumprelu: its thresholds and b_enc shifted together, so L0 is about relu's.
    const [relu, jumprelu] = [rows[0]!, rows[3]!];
    expect(jumprelu.ran).toBe('sparse x2 workers (simd)');
    expect(jumprelu.l0).toBeCloseTo(relu.l0, 0);
    for (const r of rows.filter((t) => t.architecture === 'topk' || t.architecture === 'batchtopk')) {
      expect(r.ran).toBe('sparse x2 workers (simd)');
      // TopK of ReLU: a row with fewer than k positive pre-activations keeps those only.
      expect(r.l0).toBeLessThanOrEqual(4 + 1e-9);
      expect(r.l0).toBeGreaterThan(1);
    }
  }, 300_000);

  it('prints the architecture column, and says the PyTorch peer is ReLU + L1 only', async () => {
    const { stdout } = await bench(['--architecture', 'topk', '--regimes', 'trained', '--workers', '0', '--target-l0', '4']);
    expect(stdout).toMatch(/^\| config \| architecture \| d \| m \|/m);
    expect(stdout).toMatch(/^\| tiny \| topk \| 16 \| 64 \| trained \|/m);
    expect(stdout).toMatch(/torch_sae\.py\) trains ReLU \+ L1 only/);
  }, 120_000);

  it('--sparse-capacity sizes the workers\' entry buffers: at L0 ~40% of the width the sparse step runs only with room for it', async () => {
    const at = async (extra: string[]) => {
      const { stdout } = await bench(['--json', '--no-peer', '--regimes', 'trained', '--kernels', 'sparse', '--workers', '2', '--target-l0', '26', ...extra]);
      return JSON.parse(stdout).train[0] as { ran: string; l0: number };
    };
    const [small, room] = [await at([]), await at(['--sparse-capacity', '0.6'])];
    expect(small.l0).toBeGreaterThan(0.3 * 64);
    // Past the default buffers (25% of batch x slice width) the batch runs dense on the workers.
    expect(small.ran).toBe('dense x2 workers');
    expect(room.ran).toBe('sparse x2 workers (simd)');
    const err = await bench(['--sparse-capacity', '1.5']).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/--sparse-capacity: expected a fraction in \(0, 1\] of batch x slice width, got '1\.5'/);
  }, 120_000);

  it('refuses an unknown architecture and a k that is not a whole number, naming the flag', async () => {
    for (const [args, message] of [
      [['--architecture', 'relu,gated'], /--architecture: unknown 'gated' \(expected relu, topk, batchtopk, jumprelu\)/],
      [['--architecture', 'topk', '--target-l0', '2.5'], /--target-l0: expected a whole number >= 1 \(k of topk \/ batchtopk\), got '2\.5'/],
    ] as const) {
      const err = await bench([...args]).then(() => null, (e: { code: number; stderr: string }) => e);
      expect(err?.code).toBe(1);
      expect(err?.stderr).toMatch(message);
    }
  });
});

describe.skipIf(!RUN_WEBGPU)('npm run bench -- --backend webgpu (tiny config)', () => {
  it('prints tokens/s, the GPU phases, GPU memory, the adapter and the matMul yardstick', async () => {
    const { stdout: out } = await promisify(execFile)(
      process.execPath,
      ['dist/bench/main.js', '--json', '--configs', 'tiny', '--backend', 'webgpu', '--no-data', '--no-model'],
      { encoding: 'utf8' },
    );
    const report = JSON.parse(out);
    expect(report.loops).toEqual([]);
    expect(report.train).toHaveLength(1);
    const t = report.train[0];
    expect([t.backend, t.ran, t.regime, t.workers]).toEqual(['webgpu', 'dense', 'init', 0]);
    expect(t.tokensPerSecond).toBeGreaterThan(0);
    expect(t.matMulGflops).toBeGreaterThan(0);
    expect(t.gpu.adapter.length).toBeGreaterThan(0);
    for (const k of ['uploadMs', 'computeMs', 'readMs']) expect(t.gpu[k]).toBeGreaterThan(0);
    // tfjs' GPU pool holds at least the parameters and both Adam moments.
    expect(t.gpu.allocatedBytes).toBeGreaterThanOrEqual(3 * 4 * (2 * 16 * 64 + 64 + 16));
  }, 120_000);
});

describe('loops bench', () => {
  it('times each loop in JavaScript and SIMD on the same arrays', async () => {
    const rows = await runLoopsBench([{ config: 'tiny', batch: 64, d: 12, m: 40, l0: 5 }], 1);
    expect(rows.map((r) => r.loop)).toEqual(['decode', 'gradPre', 'weightGrads', 'adam']);
    for (const r of rows) {
      expect(r.jsMs).toBeGreaterThan(0);
      expect(r.simdMs).toBeGreaterThan(0);
      expect(r.speedup).toBeCloseTo(r.jsMs / r.simdMs, 6);
    }
    expect(formatLoopsBench(rows).split('\n')).toHaveLength(2 + rows.length + 1);
  });
});

describe('data bench', () => {
  it('reports the median of three passes per file (the first warms the JIT)', async () => {
    const rows = await runDataBench([16], 2 ** 20);
    expect(rows.map((r) => r.source)).toEqual(['fixture stories260k-L2 (d=64)', 'synthetic (d=16)']);
    for (const r of rows) {
      expect(r.passRowsPerSecond).toHaveLength(3);
      expect(r.rowsPerSecond).toBe([...r.passRowsPerSecond].sort((a, b) => a - b)[1]);
      expect(r.rows).toBeGreaterThan(0);
    }
  });
});

describe('GPU report: where the ceiling is', () => {
  it('names the data path when it is slower than the step, else the GPU step', () => {
    expect(ceiling(100_000, 200_000)).toBe('data (50% of the step)');
    expect(ceiling(300_000, 200_000)).toBe('GPU step');
    const gpuRow = (config: string, d: number, tokensPerSecond: number) =>
      ({ config, architecture: 'relu', d, m: 8 * d, tokensPerSecond, regime: 'init', kernel: 'dense', ran: 'dense', backend: 'webgpu', l0: 1, peakRssBytes: 1, mainThreadMsPerStep: 0, msPerStep: Object.fromEntries(['total', ...PHASES].map((p) => [p, 1])), matMulGflops: 1, gpu: { adapter: 'test GPU', uploadMs: 1, computeMs: 1, readMs: 1, allocatedBytes: 0 } }) as unknown as TrainBenchResult;
    const data = (d: number, rowsPerSecond: number) => ({ source: `synthetic (d=${d})`, d, rows: 1, seconds: 1, rowsPerSecond, passRowsPerSecond: [rowsPerSecond] });
    const text = formatReport({
      machine: { cpu: 'x', cores: 1, memoryGiB: 1, node: 'v20', tfjs: '4', platform: 'linux', date: 'today' },
      train: [gpuRow('B', 512, 300_000), gpuRow('L', 4096, 7_000)],
      data: [data(512, 150_000), data(4096, 20_000)],
      loops: [],
    });
    expect(text).toMatch(/\| B \| 512 \| 4096 \| 300,000 \|.*\| 150,000 \| data \(50% of the step\) \|/);
    expect(text).toMatch(/\| L \| 4096 \| 32768 \| 7,000 \|.*\| 20,000 \| GPU step \|/);
  });
});
