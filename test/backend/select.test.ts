import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { currentBackend, initBackend } from '../../src/backend/select.js';
import { ToolkitError } from '../../src/errors.js';

describe('backend selection', () => {
  it('an explicit tensorflow request fails clearly when tfjs-node cannot load', async () => {
    let loads = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      loads = false;
    }
    if (loads) return; // a machine with libtensorflow: nothing to check here
    await expect(initBackend('tensorflow')).rejects.toBeInstanceOf(ToolkitError);
    await expect(initBackend('tensorflow')).rejects.toThrow(/backend 'tensorflow' could not be initialised/);
  });

  it('auto falls back to wasm and says why tensorflow was not used', async () => {
    const info = await initBackend('auto');
    expect(['tensorflow', 'wasm']).toContain(info.name);
    expect(tf.getBackend()).toBe(info.name);
    if (info.name === 'wasm') expect(info.fallbacks[0]).toMatch(/^tensorflow: /);
    expect(currentBackend()).toBe(info);
    const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
    expect(y).toBe(11);
  });

  it('cpu can be chosen explicitly', async () => {
    const info = await initBackend('cpu');
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
});
