import { PHASES } from '../util/phase-timer.js';
import { GPU_PEER, PYTORCH_PEER } from './configs.js';
import { formatLoopsBench } from './loops-bench.js';
import type { DataBenchResult } from './data-bench.js';
import type { LoopsBenchRow } from './loops-bench.js';
import type { TrainBenchResult } from './train-bench.js';
import { peerFor, type StepPeer } from './step-peer.js';
import { formatAllocChoice } from './whole-run/peer-alloc.js';
import { formatBlasChoice } from './whole-run/peer-blas.js';

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export interface BenchReport {
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; tfjs: string; platform: string; date: string };
  train: TrainBenchResult[];
  data: DataBenchResult[];
  /** The sparse step's loops alone, JavaScript against WebAssembly SIMD (one thread). */
  loops: LoopsBenchRow[];
  /** The PyTorch peer measured in this sitting beside the relu rows (step-peer.ts); absent or empty: quoted figures. */
  peers?: StepPeer[];
}

/** Which of the data path and the step limits training at these rates. */
export function ceiling(dataRowsPerSecond: number, stepTokensPerSecond: number): string {
  return dataRowsPerSecond < stepTokensPerSecond ? `data (${fmt((100 * dataRowsPerSecond) / stepTokensPerSecond)}% of the step)` : 'GPU step';
}

/** The benchmark report as text tables (the --json output holds the same numbers). */
export function formatReport(r: BenchReport): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; node ${m.node}; tfjs ${m.tfjs}; ${m.date}`);
  if (r.train.length) {
    lines.push('');
    lines.push('| config | architecture | d | m | regime | kernel | ran | backend | L0 | tokens/s | PyTorch tokens/s | ms/step | ' + PHASES.join(' | ') + ' | main thread ms | peak RSS MiB | matMul GFLOP/s |');
    lines.push('|' + ' --- |'.repeat(15 + PHASES.length));
    for (const t of r.train) {
      // The peer trains ReLU + L1 only (configs.ts): measured in this sitting, else quoted.
      const measured = t.architecture === 'relu' ? peerFor(r.peers ?? [], t) : undefined;
      const quoted = t.architecture === 'relu' && !measured ? PYTORCH_PEER[t.config] : undefined;
      const peer = measured ? `${fmt(measured.best.tokensPerSecond)} (${measured.best.threads} thr)` : quoted ? `${fmt(quoted[0])}-${fmt(quoted[1])} quoted` : '-';
      lines.push(
        `| ${t.config} | ${t.architecture} | ${t.d} | ${t.m} | ${t.regime} | ${t.kernel} | ${t.ran} | ${t.backend} | ${fmt(t.l0, 1)} | ${fmt(t.tokensPerSecond)} | ` +
          `${peer} | ${fmt(t.msPerStep.total)} | ` +
          PHASES.map((p) => fmt(t.msPerStep[p])).join(' | ') +
          ` | ${t.mainThreadMsPerStep ? fmt(t.mainThreadMsPerStep, 1) : '-'} | ${fmt(t.peakRssBytes / 2 ** 20)} | ${fmt(t.matMulGflops, 1)} |`,
      );
    }
    if (r.peers?.length) {
      lines.push('');
      lines.push(
        'PyTorch: ../shared/peers/torch_sae.py measured in this sitting on generated rows of each width (dense steps after a warm-up), best of ' +
          r.peers.map((p) => `${p.d} -> ${p.m}: ${p.runs.map((x) => `${x.threads} thr ${fmt(x.tokensPerSecond)}`).join(', ')}`).join('; ') +
          ` (${r.peers[0]!.blasCore ? `OpenBLAS ${r.peers[0]!.blasCore}` : 'no OpenBLAS found'}, matMul ${fmt(r.peers[0]!.matMulGflops, 1)} GFLOP/s).`,
      );
      for (const p of r.peers) if (p.blas) lines.push(`${p.d} -> ${p.m}: ${formatBlasChoice(p.blas)}`);
      for (const p of r.peers) if (p.allocator) lines.push(`${p.d} -> ${p.m}: ${formatAllocChoice(p.allocator)}`);
    } else if (r.train.some((t) => t.architecture === 'relu' && PYTORCH_PEER[t.config])) {
      lines.push('');
      lines.push('PyTorch: quoted from ../shared/PERF.md (another machine and day; no Python with torch here, or --no-peer): compare only figures measured in one sitting.');
    }
    if (r.train.some((t) => t.architecture !== 'relu')) {
      lines.push('');
      lines.push(
        'topk / batchtopk: k = --target-l0, no L1; trained regime with AuxK over a tenth of the features as dead (src/bench/architecture.ts). ' +
          'jumprelu: thresholds at 0.5 and b_enc raised by as much (L0 as for relu), penalty step, bandwidth 0.05. ' +
          'The PyTorch peer (../shared/peers/torch_sae.py) trains ReLU + L1 only: no peer figure for them.',
      );
    }
  }
  const gpu = r.train.filter((t) => t.gpu);
  if (gpu.length) {
    lines.push('');
    lines.push(`GPU: ${gpu[0]!.gpu!.adapter}. Phases from profiling steps with a wait after each (upload: batch to the GPU; compute: the step until the queue drains; read: statistics back); the host phase columns above are dispatch time only on a GPU.`);
    lines.push('| config | d | m | tokens/s | ms/step | upload ms | compute ms | read ms | GPU MiB | matMul GFLOP/s | data path rows/s | ceiling | PyTorch CUDA H200 | spike WebGPU H200 | of PyTorch |');
    lines.push('|' + ' --- |'.repeat(15));
    for (const t of gpu) {
      const g = t.gpu!;
      const peer = GPU_PEER[t.config];
      const data = r.data.find((dp) => dp.d === t.d && dp.source.startsWith('synthetic'));
      lines.push(
        `| ${t.config} | ${t.d} | ${t.m} | ${fmt(t.tokensPerSecond)} | ${fmt(t.msPerStep.total, 1)} | ${fmt(g.uploadMs, 1)} | ${fmt(g.computeMs, 1)} | ` +
          `${fmt(g.readMs, 1)} | ${fmt(g.allocatedBytes / 2 ** 20, 1)} | ${fmt(t.matMulGflops, 1)} | ${data ? fmt(data.rowsPerSecond) : '-'} | ${data ? ceiling(data.rowsPerSecond, t.tokensPerSecond) : '-'} | ` +
          `${peer ? fmt(peer.pytorchCuda) : '-'} | ${peer ? fmt(peer.webgpuSpike) : '-'} | ${peer ? `${fmt((100 * t.tokensPerSecond) / peer.pytorchCuda, 1)}%` : '-'} |`,
      );
    }
    if (r.data.length) lines.push('ceiling: what limits a whole run of that config, the data path (one thread, Arrow -> shuffled batches, measured below) or the GPU step.');
  }
  if (r.data.length) {
    lines.push('');
    lines.push('| data path | d | rows | rows/s | x fastest training of that d above |');
    lines.push('| --- | --- | --- | --- | --- |');
    for (const dp of r.data) {
      const consumed = Math.max(0, ...r.train.filter((t) => t.d === dp.d).map((t) => t.tokensPerSecond));
      lines.push(`| ${dp.source} | ${dp.d} | ${fmt(dp.rows)} | ${fmt(dp.rowsPerSecond)} | ${consumed > 0 ? fmt(dp.rowsPerSecond / consumed, 1) : '-'} |`);
    }
  }
  if (r.loops.length) {
    lines.push('');
    lines.push(formatLoopsBench(r.loops).trimEnd());
  }
  return lines.join('\n') + '\n';
}
