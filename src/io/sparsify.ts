import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { SaeWeights } from '../sae/params.js';
import { writeJsonAtomic } from './atomic.js';
import { encoderRows, type ExportPayload } from './export-formats.js';
import { hookNameFrom } from './saelens.js';
import { writeSafetensorsFile } from './safetensors.js';

/**
 * EleutherAI sparsify's layout (`SparseCoder.load_from_disk(folder)`): one folder per hook holding
 *   sae.safetensors  encoder.weight [m, d], encoder.bias [m], W_dec [m, d], b_dec [d]
 *   cfg.json         d_in, num_latents, k, activation 'topk', normalize_decoder, expansion_factor,
 *                    multi_topk, skip_connection, transcode (sparsify's SparseCoderConfig fields)
 * sparsify encodes TopK(ReLU(encoder(x - b_dec))): a TopK dictionary is represented exactly. Its
 * only other activation is GroupMax, so a ReLU + L1 dictionary (any number of features per row)
 * or a BatchTopK/JumpReLU one (a per-feature threshold) has no sparsify form: refused, with why.
 */
export function writeSparsifyExport(dir: string, p: ExportPayload): void {
  const w = p.weights;
  const a = w.activation ?? { kind: 'relu' };
  if (a.kind !== 'topk') {
    throw new ConfigError(
      `--format sparsify: this dictionary's activation is ${a.kind === 'relu' ? 'ReLU' : 'JumpReLU (a jumprelu or batchtopk run)'}, and sparsify only has TopK (and GroupMax) encoders: ` +
        (a.kind === 'relu'
          ? 'a ReLU dictionary keeps every positive feature, a TopK one at most k per row, so no k reproduces it.'
          : 'a threshold per feature keeps a varying number of features per row, which no fixed k reproduces.'),
      'Use --format saelens (SAELens loads ReLU and JumpReLU dictionaries), or train with --set sae.architecture=topk for sparsify.',
    );
  }
  const hook = hookNameFrom(p.dataMetadata);
  const folder = path.join(dir, hook);
  fs.mkdirSync(folder, { recursive: true });
  const t = p.dtype === 'float16' ? 'F16' : 'F32';
  writeSafetensorsFile(
    path.join(folder, 'sae.safetensors'),
    {
      'encoder.weight': { dtype: t, shape: [w.m, w.d], data: encoderRows(w) },
      'encoder.bias': { dtype: t, shape: [w.m], data: w.b_enc },
      W_dec: { dtype: t, shape: [w.m, w.d], data: w.W_dec },
      b_dec: { dtype: t, shape: [w.d], data: w.b_dec },
    },
    { format: 'pt' },
  );
  writeJsonAtomic(path.join(folder, 'cfg.json'), {
    activation: 'topk',
    expansion_factor: Math.max(1, Math.round(w.m / w.d)),
    normalize_decoder: unitRows(w),
    num_latents: w.m,
    k: a.k,
    multi_topk: false,
    skip_connection: false,
    transcode: false,
    d_in: w.d,
    sae_tool: { hook_name: hook, ...p.provenance },
  });
}

/** True when every decoder row has unit norm (sparsify's normalize_decoder keeps them so). */
function unitRows(w: SaeWeights): boolean {
  for (let i = 0; i < w.m; i++) {
    let s = 0;
    for (let j = 0; j < w.d; j++) s += w.W_dec[i * w.d + j]! ** 2;
    if (Math.abs(Math.sqrt(s) - 1) > 1e-3) return false;
  }
  return true;
}
