/**
 * A bump allocator of typed arrays in one shared WebAssembly memory. The worker kernel keeps the
 * SAE's host state and every step buffer in it, so that worker threads share them without copies
 * and the SIMD loops (simd-loops.ts, which import this memory) can address them directly.
 * The memory has a fixed size (initial = maximum) so views never detach.
 */
export class Arena {
  /** Bytes below this are left to the SIMD module (its stack and static data). */
  static readonly BASE = 65536;
  static readonly PAGE = 65536;
  readonly memory: WebAssembly.Memory;
  private top = Arena.BASE;

  constructor(bytes: number) {
    const pages = Math.ceil((Arena.BASE + bytes) / Arena.PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  }

  /** Bytes an arena needs for arrays of these byte sizes (each 16-byte aligned). */
  static bytesFor(sizes: number[]): number {
    return sizes.reduce((s, n) => s + align(n), 0);
  }

  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  f32(n: number): Float32Array {
    return new Float32Array(this.memory.buffer, this.take(n * 4), n);
  }

  i32(n: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.take(n * 4), n);
  }

  f64(n: number): Float64Array {
    return new Float64Array(this.memory.buffer, this.take(n * 8), n);
  }

  private take(bytes: number): number {
    const at = this.top;
    const next = at + align(bytes);
    if (next > this.memory.buffer.byteLength) {
      throw new Error(`Arena: out of memory (${next} > ${this.memory.buffer.byteLength} bytes)`);
    }
    this.top = next;
    return at;
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}
