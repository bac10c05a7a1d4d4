import * as tf from './tfjs.js';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BackendError, ToolkitError, describeError } from '../errors.js';
import { describeAdapter, loadWebgpu, probeAdapter, releaseWebgpu, takeGpuError, type AdapterReport } from './webgpu.js';
import { registerBackendRelease } from './release-hook.js';

import type { BackendChoice, BackendName } from './choices.js';

export { BACKEND_CHOICES, type BackendChoice, type BackendName } from './choices.js';

/** What the code around the tfjs ops must do differently on a backend. */
export interface BackendCapabilities {
  /** dataSync()/arraySync() work. False on webgpu in Node (no OffscreenCanvas): only data()/array(). */
  syncReads: boolean;
  /** The host-loop step formulations (sparse, worker threads) may run: they read weights every step. */
  hostKernels: boolean;
  /** Bytes one tensor may occupy (Infinity: no limit). Larger ones give wrong numbers on WebGPU. */
  maxTensorBytes: number;
}

export interface BackendInfo {
  /** The backend in use. */
  name: BackendName;
  /** Why the preferred backends were not used (one line each), for the log. */
  fallbacks: string[];
  /** Whether this backend gives bitwise-identical results for identical inputs and op order. */
  deterministic: boolean;
  capabilities: BackendCapabilities;
  /** The GPU (webgpu only). */
  adapter?: AdapterReport;
}

const require = createRequire(import.meta.url);
let current: BackendInfo | null = null;

async function tryTensorflow(): Promise<void> {
  // tfjs-node is an optional dependency: its install downloads libtensorflow, which may fail.
  // Importing it registers the 'tensorflow' backend on the shared tfjs-core engine.
  const spec = '@tensorflow/tfjs-node';
  await import(spec);
  if (!(await tf.setBackend('tensorflow'))) throw new Error('the tensorflow backend did not initialise');
}

async function tryWasm(): Promise<void> {
  const pkg = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  setWasmPaths(path.join(pkg, 'dist') + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
}

async function tryCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
  // Silence tfjs' one-time "install tfjs-node" banner: we already said which backend is in use.
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
}

const HOST: BackendCapabilities = { syncReads: true, hostKernels: true, maxTensorBytes: Infinity };

async function load(name: BackendName, auto: boolean): Promise<Omit<BackendInfo, 'fallbacks'>> {
  if (name === 'webgpu') {
    const adapter = await loadWebgpu(!auto);
    return {
      name,
      deterministic: true,
      capabilities: { syncReads: false, hostKernels: false, maxTensorBytes: adapter.maxStorageBufferBindingSize },
      adapter,
    };
  }
  await { tensorflow: tryTensorflow, wasm: tryWasm, cpu: tryCpu }[name]();
  return { name, deterministic: name !== 'tensorflow', capabilities: HOST };
}

/**
 * Select and initialise a tfjs backend. 'auto' tries webgpu (only on a hardware adapter), then
 * tensorflow (tfjs-node), then wasm, then cpu. An explicit choice that fails is an error (with
 * the reason), never a silent fallback.
 * Idempotent: a second call with a compatible choice returns the backend already in use.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (current && (choice === 'auto' || choice === current.name)) return current;
  const order: BackendName[] = choice === 'auto' ? ['webgpu', 'tensorflow', 'wasm', 'cpu'] : [choice];
  const fallbacks: string[] = [];
  for (const name of order) {
    try {
      current = { ...(await load(name, choice === 'auto')), fallbacks };
      return current;
    } catch (err) {
      fallbacks.push(`${name}: ${describeError(err)}`);
    }
  }
  throw new ToolkitError(`backend '${choice}' could not be initialised (${fallbacks.join('; ')})`, failureHint(choice));
}

function failureHint(choice: BackendChoice): string {
  if (choice === 'tensorflow') return 'tfjs-node needs libtensorflow, which its install step downloads; use --backend wasm or --backend auto.';
  if (choice === 'webgpu') {
    return (
      'WebGPU needs the optional packages webgpu and @tensorflow/tfjs-backend-webgpu (npm install) and a GPU driver: ' +
      'Vulkan on Linux (a GPU vendor driver, or mesa-vulkan-drivers >= 25 for lavapipe on the CPU), Metal on macOS, D3D12 on Windows. ' +
      'Or train with --backend wasm.'
    );
  }
  return 'Reinstall with `npm ci`, or try --backend cpu.';
}

/** The backend selected by initBackend, or null before it ran. */
export function currentBackend(): BackendInfo | null {
  return current;
}

/** The capabilities of the backend in use (host backends' before initBackend ran). */
export function backendCapabilities(): BackendCapabilities {
  return current?.capabilities ?? HOST;
}

/** One line for the log: 'webgpu on NVIDIA H200 (nvidia, hopper), max tensor 2048 MiB'. */
export function describeBackend(info: BackendInfo): string {
  const unavailable = info.fallbacks.length ? ` (unavailable: ${info.fallbacks.join('; ')})` : '';
  if (!info.adapter) return `${info.name}${unavailable}`;
  const a = info.adapter;
  return `${info.name} on ${describeAdapter(a)}, max tensor ${mib(a.maxStorageBufferBindingSize)} MiB, max buffer ${mib(a.maxBufferSize)} MiB${unavailable}`;
}

/** Throws a BackendError if the GPU reported an error (validation, lost device) since the last check. */
export function checkBackendErrors(where: string): void {
  const e = takeGpuError();
  if (e) {
    throw new BackendError(
      `the GPU reported an error during ${where}: ${e}`,
      'The results of this step cannot be trusted. Try a smaller train.batchSize or sae.width, or --backend wasm; rerun with --debug and report it if it persists.',
    );
  }
}

/**
 * Refuse a tensor the backend cannot hold in one binding: `what` names it and its shape, for the
 * message. Call before allocating.
 */
export function checkTensorSize(what: string, shape: number[], fix: string): void {
  const limit = backendCapabilities().maxTensorBytes;
  const bytes = shape.reduce((a, b) => a * b, 4);
  if (bytes > limit) {
    throw new BackendError(
      `${what} [${shape.join(', ')}] is ${mib(bytes)} MiB of float32, more than the GPU binds in one buffer (${mib(limit)} MiB on ${current?.adapter ? describeAdapter(current.adapter) : current?.name})`,
      fix,
    );
  }
}

/** `preferred` rows, or fewer so that a [rows, width] float32 tensor fits the backend (at least 1). */
export function rowsThatFit(preferred: number, width: number): number {
  return Math.max(1, Math.min(preferred, Math.floor(backendCapabilities().maxTensorBytes / (4 * width))));
}

/** Release GPU resources so that the process can exit (a no-op on other backends). */
export function releaseBackend(): void {
  if (current?.name === 'webgpu') {
    releaseWebgpu();
    current = null;
  }
}
registerBackendRelease(releaseBackend);

/** For the auto test: does Dawn offer an adapter here, and is it software? null: none. */
export async function webgpuAdapterHere(): Promise<AdapterReport | null> {
  try {
    return (await probeAdapter()).report;
  } catch {
    return null;
  }
}

function mib(bytes: number): string {
  const v = bytes / 2 ** 20;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
