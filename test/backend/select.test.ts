import * as tf from '../../src/backend/tfjs.js';
import { describe, expect, it } from 'vitest';
import { currentBackend, initBackend, webgpuAdapterHere } from '../../src/backend/select.js';
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

  it('auto falls back to wasm and says why webgpu and tensorflow were not used', async () => {
    const adapter = await webgpuAdapterHere();
    const info = await initBackend('auto');
    // A software adapter (lavapipe) is never auto's choice.
    if (!adapter || adapter.software) expect(['tensorflow', 'wasm']).toContain(info.name);
    expect(tf.getBackend()).toBe(info.name);
    if (info.name !== 'webgpu') expect(info.fallbacks[0]).toMatch(/^webgpu: /);
    if (info.name === 'wasm') expect(info.fallbacks[1]).toMatch(/^tensorflow: /);
    expect(currentBackend()).toBe(info);
    const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
    expect(y).toBe(11);
  });

  it('an explicit webgpu request that cannot load says why, with what to install', async () => {
    const adapter = await webgpuAdapterHere();
    if (adapter) return; // a machine with a Vulkan/Metal/D3D12 adapter: the webgpu tests cover it
    const err = (await initBackend('webgpu').catch((e: unknown) => e)) as ToolkitError;
    expect(err).toBeInstanceOf(ToolkitError);
    expect(err.message).toMatch(/backend 'webgpu' could not be initialised \(webgpu: (no WebGPU adapter|the optional package)/);
    expect(err.hint).toMatch(/Vulkan on Linux/);
  });

  it('cpu can be chosen explicitly', async () => {
    const info = await initBackend('cpu');
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
});
