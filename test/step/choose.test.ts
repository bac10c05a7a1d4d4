import { describe, expect, it } from 'vitest';
import { chooseKernel } from '../../src/step/choose.js';

describe('chooseKernel', () => {
  it('starts dense, goes sparse below the crossover, returns to dense only well above it', () => {
    expect(chooseKernel(Number.NaN, 1000, 'dense', 'wasm')).toBe('dense');
    expect(chooseKernel(500, 1000, 'dense', 'wasm')).toBe('dense');
    expect(chooseKernel(10, 1000, 'dense', 'wasm')).toBe('sparse');
    expect(chooseKernel(70, 1000, 'sparse', 'wasm')).toBe('sparse');
    expect(chooseKernel(200, 1000, 'sparse', 'wasm')).toBe('dense');
    expect(chooseKernel(200, 1000, 'dense', 'cpu')).toBe('sparse');
    // A fraction instead of a backend (the workers' crossover): 15%, back to dense above 22.5%.
    expect(chooseKernel(140, 1000, 'dense', 0.15)).toBe('sparse');
    expect(chooseKernel(160, 1000, 'dense', 0.15)).toBe('dense');
    expect(chooseKernel(220, 1000, 'sparse', 0.15)).toBe('sparse');
    expect(chooseKernel(230, 1000, 'sparse', 0.15)).toBe('dense');
  });
});
