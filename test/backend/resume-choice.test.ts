import { describe, expect, it } from 'vitest';
import { chooseBackend } from '../../src/backend/resume-choice.js';

describe('chooseBackend', () => {
  it('--backend wins over everything', () => {
    expect(chooseBackend('cpu', 'auto', 'webgpu')).toEqual({ choice: 'cpu', source: 'flag' });
  });
  it('a resumed run continues on the backend it was trained on', () => {
    expect(chooseBackend(undefined, 'auto', 'webgpu')).toEqual({ choice: 'webgpu', source: 'recorded' });
    expect(chooseBackend(undefined, 'wasm', 'cpu')).toEqual({ choice: 'cpu', source: 'recorded' });
  });
  it('a new run, or a record that names no known backend, uses the config', () => {
    expect(chooseBackend(undefined, 'wasm', undefined)).toEqual({ choice: 'wasm', source: 'config' });
    expect(chooseBackend(undefined, 'wasm', 'auto')).toEqual({ choice: 'wasm', source: 'config' });
    expect(chooseBackend(undefined, 'auto', 'quantum')).toEqual({ choice: 'auto', source: 'config' });
  });
});
