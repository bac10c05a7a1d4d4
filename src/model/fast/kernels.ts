/**
 * The forward path's WebAssembly SIMD loops (wasm/kernels.ts, compiled by `npm run build` to
 * dist/model/fast/wasm/kernels.wasm): one instance per model, owning its memory, and a bump
 * layout of float32 arrays in it.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The module's exports; arrays are byte addresses in its memory. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  matmul(n: number, inD: number, outD: number, a: number, w: number, c: number): void;
  rmsNorm(n: number, d: number, x: number, w: number, eps: number, out: number): void;
  swiglu(n: number, f: number, gu: number, out: number): void;
  addInto(len: number, x: number, y: number): void;
  rope(len: number, past: number, nHeads: number, nKvHeads: number, hd: number, qkv: number, cos: number, sin: number, q: number, k: number, v: number): void;
  attention(batch: number, seq: number, past: number, nHeads: number, nKvHeads: number, hd: number, q: number, k: number, v: number, out: number, scratch: number): void;
}

/** Beside this file's compiled form (dist/model/fast/), or in dist/ when this runs from src/ (vitest). */
const CANDIDATES = [new URL('./wasm/kernels.wasm', import.meta.url), new URL('../../../dist/model/fast/wasm/kernels.wasm', import.meta.url)];

let compiled: { module: WebAssembly.Module | null; reason: string } | undefined;

function compile(): { module: WebAssembly.Module | null; reason: string } {
  const file = CANDIDATES.find((u) => fs.existsSync(u));
  if (!file) return { module: null, reason: `${fileURLToPath(CANDIDATES[0]!)} is missing (run \`npm run build\`)` };
  const bytes = fs.readFileSync(file);
  if (!WebAssembly.validate(bytes)) return { module: null, reason: 'WebAssembly SIMD is not supported by this runtime' };
  return { module: new WebAssembly.Module(bytes), reason: '' };
}

/** A fresh instance with its own memory, or the reason there is none. */
export function instantiateKernels(): { kernels: KernelExports | null; reason: string } {
  compiled ??= compile();
  if (!compiled.module) return { kernels: null, reason: compiled.reason };
  return { kernels: new WebAssembly.Instance(compiled.module).exports as unknown as KernelExports, reason: '' };
}

/**
 * Float32 arrays placed one after another in a kernel instance's memory, from `start` (bytes).
 * `reserve` names sizes first; `commit` grows the memory once and makes the views (views of a
 * memory detach when it grows, so nothing is viewed before every size is known).
 */
export class KernelLayout {
  private top: number;
  private readonly at = new Map<string, { offset: number; length: number }>();

  constructor(private readonly kernels: KernelExports, readonly start: number) {
    this.top = start;
  }

  reserve(name: string, length: number): void {
    this.at.set(name, { offset: this.top, length });
    this.top += Math.ceil((length * 4) / 16) * 16;
  }

  /** Bytes up to the end of the last array: where a layout for more arrays starts. */
  get end(): number {
    return this.top;
  }

  commit(): Record<string, { ptr: number; view: Float32Array }> {
    const memory = this.kernels.memory;
    if (this.top > memory.buffer.byteLength) memory.grow(Math.ceil((this.top - memory.buffer.byteLength) / 65536));
    const out: Record<string, { ptr: number; view: Float32Array }> = {};
    for (const [name, { offset, length }] of this.at) out[name] = { ptr: offset, view: new Float32Array(memory.buffer, offset, length) };
    return out;
  }
}
