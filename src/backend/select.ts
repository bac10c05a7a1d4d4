import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ToolkitError, describeError } from '../errors.js';
import { BACKEND_CHOICES, type BackendChoice } from './choices.js';

export type BackendName = Exclude<BackendChoice, 'auto'>;

export interface BackendInfo {
  /** The backend in use. */
  name: BackendName;
  /** Why the preferred backends were not used (one line each), for the log. */
  fallbacks: string[];
  /** Whether this backend gives bitwise-identical results for identical inputs and op order. */
  deterministic: boolean;
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

const loaders: Record<BackendName, () => Promise<void>> = {
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: tryCpu,
};

/**
 * Select and initialise a tfjs backend. 'auto' tries tensorflow (tfjs-node), then wasm, then cpu.
 * An explicit choice that fails is an error (with the reason), never a silent fallback.
 * Idempotent: a second call with a compatible choice returns the backend already in use.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (current && (choice === 'auto' || choice === current.name)) return current;
  const order: BackendName[] = choice === 'auto' ? BACKEND_CHOICES.filter((b): b is BackendName => b !== 'auto') : [choice];
  const fallbacks: string[] = [];
  for (const name of order) {
    try {
      await loaders[name]();
      current = { name, fallbacks, deterministic: name !== 'tensorflow' };
      return current;
    } catch (err) {
      fallbacks.push(`${name}: ${describeError(err)}`);
    }
  }
  throw new ToolkitError(
    `backend '${choice}' could not be initialised (${fallbacks.join('; ')})`,
    choice === 'tensorflow'
      ? 'tfjs-node needs libtensorflow, which its install step downloads; use --backend wasm or --backend auto.'
      : 'Reinstall with `npm ci`, or try --backend cpu.',
  );
}

/** The backend selected by initBackend, or null before it ran. */
export function currentBackend(): BackendInfo | null {
  return current;
}
