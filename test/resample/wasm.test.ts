import { beforeAll, describe, it } from 'vitest';
import { initBackend } from '../../src/backend/select.js';
import { checkHandCase } from './cases.js';

// The same entry-by-entry checks on the wasm backend (scatterND / where / transpose kernels).
beforeAll(async () => {
  await initBackend('wasm');
});

describe('resampleDead (wasm)', () => {
  it('writes exactly the dead rows, columns, biases and Adam moments', async () => {
    await checkHandCase(false);
    await checkHandCase(true);
  });
});
