import { describe, expect, it } from 'vitest';
import { defaultWorkers } from '../../src/step/engine.js';

describe("train.workers 'auto'", () => {
  it('one per core up to 8 on any width, up to 16 where each gets 512 features, none on tfjs-node', () => {
    expect(defaultWorkers('wasm', 64, 2)).toBe(2);
    expect(defaultWorkers('wasm', 1024, 16)).toBe(8);
    expect(defaultWorkers('wasm', 8192, 16)).toBe(16);
    expect(defaultWorkers('wasm', 6144, 16)).toBe(12);
    expect(defaultWorkers('wasm', 12288, 64)).toBe(16);
    expect(defaultWorkers('wasm', 8192, 4)).toBe(4);
    // One core still gets a worker: its SIMD loops are the fastest single thread.
    expect(defaultWorkers('cpu', Infinity, 1)).toBe(1);
    expect(defaultWorkers('wasm', 8192, 1)).toBe(1);
    expect(defaultWorkers('tensorflow', 8192, 16)).toBe(0);
  });
});
