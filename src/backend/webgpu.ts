import * as tf from './tfjs.js';
import fs from 'node:fs';

/**
 * The WebGPU backend in Node: Dawn's bindings (the optional `webgpu` package, prebuilt for Linux,
 * macOS and Windows) under `@tensorflow/tfjs-backend-webgpu`. We create the adapter and device
 * ourselves (not tfjs' own factory) so that we can report the adapter, refuse software adapters
 * for 'auto', turn validation errors into exceptions and destroy the device at the end.
 */

/** The subset of the WebGPU API used here (the project does not compile against @webgpu/types). */
interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}
interface GpuLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeInvocationsPerWorkgroup: number;
}
interface GpuDevice {
  destroy(): void;
  onuncapturederror: ((ev: { error: { message: string } }) => void) | null;
  lost: Promise<{ reason: string; message: string }>;
}
interface GpuAdapter {
  info: GpuAdapterInfo;
  limits: GpuLimits;
  features: Set<string>;
  requestDevice(desc: unknown): Promise<GpuDevice>;
}
interface Gpu {
  requestAdapter(opts?: { powerPreference?: string }): Promise<GpuAdapter | null>;
}
interface DawnModule {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

/** What the run reports about the GPU it trains on. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (lavapipe, SwiftShader, WARP): correct but slow; never chosen by 'auto'. */
  software: boolean;
  /** Bytes one tensor may occupy: larger ones would be bound partially and give wrong numbers. */
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

/** tfjs' WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL: below one workgroup, so never split-K. */
const DETERMINISTIC_MATMUL_THRESHOLD = 0.5;

let gpu: Gpu | null = null;
let device: GpuDevice | null = null;
let report: AdapterReport | null = null;
/** The first GPU error not yet thrown (validation, out of memory, device lost). */
let pendingError: string | null = null;

/** Dawn's instance (one per process), loading the optional package. Throws with the reason. */
async function dawn(): Promise<Gpu> {
  if (gpu) return gpu;
  let mod: DawnModule;
  try {
    const spec = 'webgpu';
    mod = (await import(spec)) as DawnModule;
  } catch (e) {
    throw new Error(`the optional package 'webgpu' is not installed or does not load here (${firstLine(e)})`);
  }
  // tfjs-backend-webgpu uses the WebGPU globals (GPUBufferUsage, ...) as a browser provides them.
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  gpu = mod.create([]);
  return gpu;
}

/** The adapter Dawn offers (high-performance preference), described. Throws when there is none. */
export async function probeAdapter(): Promise<{ adapter: GpuAdapter; report: AdapterReport }> {
  const g = await dawn();
  const adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error(
      'no WebGPU adapter: Dawn found no Vulkan, Metal or D3D12 device it accepts (on Linux install a Vulkan driver, e.g. mesa-vulkan-drivers >= 25)',
    );
  }
  const i = adapter.info;
  return {
    adapter,
    report: {
      vendor: i.vendor,
      architecture: i.architecture,
      device: i.device,
      description: i.description,
      software: i.isFallbackAdapter === true || i.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(i.description),
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  };
}

/**
 * Make 'webgpu' the tfjs backend on the adapter Dawn offers. `allowSoftware: false` (the 'auto'
 * choice) refuses a CPU adapter. Throws an Error saying why it cannot (package, adapter, driver).
 */
export async function loadWebgpu(allowSoftware: boolean): Promise<AdapterReport> {
  if (!allowSoftware && !mayHaveGpu()) throw new Error('no GPU device here (no /dev/dri render node, /dev/nvidia0 or /dev/dxg)');
  const refuse = (a: AdapterReport) => new Error(`only a software adapter (${describeAdapter(a)}); 'auto' does not train on it`);
  if (report && tf.getBackend() === 'webgpu') {
    if (report.software && !allowSoftware) throw refuse(report);
    return report;
  }
  const { adapter, report: r } = await probeAdapter();
  if (r.software && !allowSoftware) throw refuse(r);
  let backendModule: { WebGPUBackend: new (device: GpuDevice, info: GpuAdapterInfo) => tf.KernelBackend };
  // tfjs-backend-webgpu registers its own factory at import time when navigator.gpu exists; Node 20
  // has no navigator, and we register ours below instead.
  try {
    const spec = '@tensorflow/tfjs-backend-webgpu';
    backendModule = (await import(spec)) as typeof backendModule;
  } catch (e) {
    throw new Error(`the optional package '@tensorflow/tfjs-backend-webgpu' is not installed or does not load (${firstLine(e)})`);
  }
  const l = adapter.limits;
  const features = ['timestamp-query'].filter((f) => adapter.features.has(f));
  let dev: GpuDevice;
  try {
    dev = await adapter.requestDevice({
      requiredFeatures: features,
      // The adapter's own maxima (tfjs' factory asks for the same): the defaults are far smaller.
      requiredLimits: {
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      },
    });
  } catch (e) {
    throw new Error(`the driver refused a device on ${describeAdapter(r)} (${firstLine(e)})`);
  }
  // Validation errors are otherwise only printed by Dawn while the numbers come out wrong:
  // keep the first one and throw it at the next read (checkGpuErrors).
  dev.onuncapturederror = (ev) => {
    pendingError ??= firstLine(ev.error.message);
  };
  void dev.lost.then((info) => {
    if (device === dev) pendingError ??= `the GPU device was lost (${info.reason}: ${firstLine(info.message)})`;
  });
  // The backend checks navigator.gpu when constructed.
  const nav = (globalThis as { navigator?: Record<string, unknown> }).navigator;
  if (nav) nav.gpu ??= gpu;
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  // tfjs runs small ops on the cpu backend when their inputs are still host arrays (fresh from a
  // checkpoint, say): that changes the float results, so a resumed run would not be bit-exact.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  // For products with few output tiles and a long inner dimension (the column sums of a [4096, 512]
  // gradient, say) tfjs picks a split-K kernel that adds partial sums with atomics, in whatever
  // order the GPU runs them: the same step then gives different bits from run to run (seen on
  // lavapipe: 1,889 of 512 x 5 sums differed), and a resumed run could not end where the
  // uninterrupted one does. A threshold under one workgroup keeps every product on the tiled kernel,
  // which sums in a fixed order; only products of a few hundred outputs are affected.
  tf.env().set('WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL', DETERMINISTIC_MATMUL_THRESHOLD);
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new backendModule.WebGPUBackend(dev, adapter.info));
  if (!(await tf.setBackend('webgpu'))) {
    dev.destroy();
    throw new Error(`the webgpu backend did not initialise on ${describeAdapter(r)}`);
  }
  device = dev;
  report = r;
  pendingError = null;
  return r;
}

/** The adapter in use (null: webgpu not loaded). */
export function webgpuAdapter(): AdapterReport | null {
  return report;
}

/** The first GPU error since the last call (and clear it), or null: a cheap check after reads. */
export function takeGpuError(): string | null {
  const e = pendingError;
  pendingError = null;
  return e;
}

/** Release the device so that the process can exit; tfjs falls back to no backend. */
export function releaseWebgpu(): void {
  if (!device) return;
  const dev = device;
  device = null;
  report = null;
  try {
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  } finally {
    dev.destroy();
  }
}

/**
 * Whether this machine may have a GPU, without loading Dawn (which costs ~0.5 s and, on lavapipe,
 * prints driver warnings): on Linux a DRM render node, an NVIDIA device node or WSL's /dev/dxg;
 * macOS (Metal) and Windows (D3D12) always may. Used by 'auto' only.
 */
export function mayHaveGpu(): boolean {
  if (process.platform !== 'linux') return true;
  const exists = (p: string) => fs.existsSync(p);
  let render = false;
  try {
    render = fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    // no /dev/dri
  }
  return render || exists('/dev/nvidia0') || exists('/dev/dxg');
}

/** 'NVIDIA H200 (nvidia, hopper)' / 'llvmpipe ... (mesa, software)'. */
export function describeAdapter(r: AdapterReport): string {
  const name = r.description || r.device || 'unknown device';
  const tags = [r.vendor, r.architecture].filter(Boolean);
  if (r.software && r.architecture !== 'software') tags.push('software');
  return `${name} (${tags.join(', ')})`;
}

function firstLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.split('\n')[0] ?? s;
}
