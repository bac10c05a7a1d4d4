import type { KernelKind } from '../step/engine.js';

/** A benchmarked SAE shape (the configs A, B, C at batch 4096). */
export interface BenchShape {
  name: string;
  d: number;
  m: number;
  batch: number;
  /** Steps before timing starts (first steps allocate the backend's memory and pack weights). */
  warmupSteps: number;
  /** Timed windows, and steps per window; tokens/s is the median over windows. */
  windows: number;
  stepsPerWindow: number;
  /** 'synthetic' (generated in memory) or 'fixture' (the real-model activations in fixtures/). */
  data: 'synthetic' | 'fixture';
}

/**
 * 'init': weights as initialised, so about half the features fire (L0 ~ m/2; the dense step's regime).
 * 'trained': b_enc shifted per feature so each fires on ~targetL0/m of the rows, as after training
 * (the regime in which most of a run is spent and the sparse step applies).
 */
export type BenchRegime = 'init' | 'trained';

/** Architectures `npm run bench -- --architecture` measures (sae.architecture). */
export const BENCH_ARCHITECTURES = ['relu', 'topk', 'batchtopk', 'jumprelu'] as const;
export type BenchArchitecture = (typeof BENCH_ARCHITECTURES)[number];

/** One child-process measurement. */
export interface BenchSpec {
  shape: BenchShape;
  regime: BenchRegime;
  kernel: KernelKind;
  /** Worker threads for the sparse step (1: the main thread only). */
  workers: number;
  /** WebAssembly SIMD loops in the workers (where they load). */
  simd: boolean;
  backend: 'wasm' | 'cpu' | 'tensorflow' | 'webgpu' | 'auto';
  /** Target mean active features per row in the 'trained' regime; k of topk / batchtopk. */
  targetL0: number;
  /** sae.architecture of the step (what it adds: architecture.ts); absent: relu. */
  architecture?: BenchArchitecture;
  /** The workers' entry buffers as a fraction of batch x slice width (absent: layout.ts DEFAULT_SPARSE_CAPACITY). */
  sparseCapacity?: number;
  seed: number;
}

export const SHAPES: Record<string, BenchShape> = {
  A: { name: 'A', d: 64, m: 1024, batch: 4096, warmupSteps: 3, windows: 5, stepsPerWindow: 4, data: 'synthetic' },
  B: { name: 'B', d: 512, m: 8192, batch: 4096, warmupSteps: 2, windows: 3, stepsPerWindow: 2, data: 'synthetic' },
  C: { name: 'C', d: 768, m: 12288, batch: 4096, warmupSteps: 1, windows: 3, stepsPerWindow: 1, data: 'synthetic' },
  'A-real': { name: 'A-real', d: 64, m: 1024, batch: 4096, warmupSteps: 3, windows: 5, stepsPerWindow: 4, data: 'fixture' },
  /** The two large configs (Gemma-2-2B and Llama-3-8B widths): for GPUs. */
  G: { name: 'G', d: 2304, m: 16384, batch: 4096, warmupSteps: 2, windows: 3, stepsPerWindow: 5, data: 'synthetic' },
  L: { name: 'L', d: 4096, m: 65536, batch: 4096, warmupSteps: 1, windows: 3, stepsPerWindow: 2, data: 'synthetic' },
  /** For tests of the benchmark itself. */
  tiny: { name: 'tiny', d: 16, m: 64, batch: 256, warmupSteps: 1, windows: 2, stepsPerWindow: 2, data: 'synthetic' },
};

/**
 * PyTorch peer on this machine (PERF.md; tokens/s, batch 4096, 2 threads, OpenBLAS as set / AVX-512).
 * The peer (../shared/peers/torch_sae.py) trains ReLU + L1 only: it stands beside relu rows.
 */
export const PYTORCH_PEER: Record<string, [number, number]> = {
  A: [75_000, 104_000],
  'A-real': [75_000, 104_000],
  B: [4_100, 6_100],
  C: [1_900, 3_100],
};

/** Configs `npm run bench -- --backend webgpu` runs by default. */
export const GPU_CONFIGS = 'A,B,C,G,L';

/**
 * PyTorch CUDA (TF32) on an NVIDIA H200, batch 4096, and the plain tfjs WebGPU step of the spike
 * on the same GPU (issue 13; tokens/s). The goal: at least half of PyTorch's figure.
 */
export const GPU_PEER: Record<string, { pytorchCuda: number; webgpuSpike: number }> = {
  B: { pytorchCuda: 1_760_000, webgpuSpike: 307_000 },
  C: { pytorchCuda: 1_350_000, webgpuSpike: 179_000 },
  G: { pytorchCuda: 450_000, webgpuSpike: 48_000 },
  L: { pytorchCuda: 70_000, webgpuSpike: 7_300 },
};
