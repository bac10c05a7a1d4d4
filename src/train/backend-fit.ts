import { backendCapabilities, checkTensorSize } from '../backend/select.js';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { RunPlan } from './plan.js';

/**
 * Refuse, before anything is allocated or written, a run the backend cannot compute correctly:
 * a host-loop step formulation on a GPU backend, or a tensor larger than the GPU binds in one
 * buffer (WebGPU would silently compute on part of it).
 */
export function checkRunFitsBackend(cfg: Config, plan: RunPlan): void {
  const caps = backendCapabilities();
  if (!caps.hostKernels && cfg.train.kernel === 'sparse') {
    throw new ConfigError(
      "train.kernel: 'sparse' runs its loops on the host, which this backend does not allow (it would read the weights back every step)",
      'Use --set train.kernel=dense (auto trains dense there), or train on --backend wasm.',
    );
  }
  const { d, m } = plan;
  const batch = cfg.train.batchSize;
  const fitRows = Math.floor(caps.maxTensorBytes / (4 * Math.max(d, m)));
  checkTensorSize('the encoder weights W_enc', [d, m], `Train a narrower dictionary (sae.width at most ${Math.floor(caps.maxTensorBytes / (4 * d))}), or use --backend wasm.`);
  checkTensorSize('a batch of activations (train.batchSize x sae width)', [batch, Math.max(d, m)], `Lower train.batchSize to ${fitRows} or less.`);
}
