import fs from 'node:fs';
import path from 'node:path';
import type { SaeWeights } from '../sae/params.js';
import { writeJsonAtomic } from './atomic.js';
import { writeArrowFile, type ArrowColumn } from './arrow-write.js';
import { statsColumns, statsRecord, type StatsTable } from './export-stats.js';
import { writeNpyFile } from './npy.js';
import { hookNameFrom, layerFrom, modelNameFrom, saelensArchitecture, weightTensors, writeSaelensDir } from './saelens.js';
import { writeSafetensorsFile, type TensorToWrite } from './safetensors.js';

/** Everything a format writer needs, already selected and rescaled. */
export interface ExportPayload {
  weights: SaeWeights;
  /** Original index of each exported feature [k]. */
  featureIndex: Int32Array;
  /** True when --features picked a subset. */
  subset: boolean;
  /** log10 firing frequency of each exported feature [k], if the run recorded it. */
  log10Density: Float32Array | null;
  dataMetadata: Record<string, string>;
  dtype: 'float32' | 'float16';
  /** Provenance strings: source run, step, unit_decoder, features. */
  provenance: Record<string, string>;
  stats: StatsTable | null;
}

/** Column `i` of W_enc [d, m] (feature i's encoder direction) [d]. */
function encoderColumn(w: SaeWeights, i: number): Float32Array {
  const out = new Float32Array(w.d);
  for (let r = 0; r < w.d; r++) out[r] = w.W_enc[r * w.m + i]!;
  return out;
}

/** W_enc transposed to [m, d]: row i is feature i's encoder direction. */
export function encoderRows(w: SaeWeights): Float32Array {
  const out = new Float32Array(w.m * w.d);
  for (let r = 0; r < w.d; r++) for (let i = 0; i < w.m; i++) out[i * w.d + r] = w.W_enc[r * w.m + i]!;
  return out;
}

/** Plain description shared by the safetensors metadata, npy meta.json and arrow schema metadata. */
function describe(p: ExportPayload): Record<string, string> {
  const layer = layerFrom(p.dataMetadata);
  const a = p.weights.activation ?? { kind: 'relu' };
  const out: Record<string, string> = {
    architecture: saelensArchitecture(a),
    activation: a.kind,
    ...(a.kind === 'topk' ? { k: String(a.k) } : {}),
    apply_b_dec_to_input: 'true',
    d_in: String(p.weights.d),
    d_sae: String(p.weights.m),
    dtype: p.dtype,
    model_name: modelNameFrom(p.dataMetadata),
    hook_name: hookNameFrom(p.dataMetadata),
    ...(layer === null ? {} : { hook_layer: String(layer) }),
    ...p.provenance,
  };
  for (const [k, v] of Object.entries(p.dataMetadata)) out[`data.${k}`] = v;
  return out;
}

/** The SAELens folder (cfg.json, sae_weights.safetensors, sparsity.safetensors). */
export function writeSaelensExport(dir: string, p: ExportPayload): void {
  fs.mkdirSync(dir);
  writeSaelensDir(dir, p.weights, {
    dataMetadata: p.dataMetadata,
    dtype: p.dtype,
    ...(p.log10Density ? { log10Density: p.log10Density } : {}),
    extra: p.provenance,
  });
}

/** One safetensors file: the four tensors, log10_density and feature_indices when known, string metadata. */
export function writeSafetensorsExport(file: string, p: ExportPayload): void {
  const tensors: Record<string, TensorToWrite> = { ...weightTensors(p.weights, p.dtype) };
  if (p.log10Density) tensors['log10_density'] = { dtype: p.dtype === 'float16' ? 'F16' : 'F32', shape: [p.weights.m], data: p.log10Density };
  if (p.subset) tensors['feature_indices'] = { dtype: 'I32', shape: [p.weights.m], data: p.featureIndex };
  writeSafetensorsFile(file, tensors, { format: 'pt', ...describe(p) });
}

/** A folder of .npy arrays (+ meta.json describing them). */
export function writeNpyExport(dir: string, p: ExportPayload): void {
  fs.mkdirSync(dir);
  const descr = p.dtype === 'float16' ? '<f2' : '<f4';
  const w = p.weights;
  writeNpyFile(path.join(dir, 'W_enc.npy'), w.W_enc, [w.d, w.m], descr);
  writeNpyFile(path.join(dir, 'W_dec.npy'), w.W_dec, [w.m, w.d], descr);
  writeNpyFile(path.join(dir, 'b_enc.npy'), w.b_enc, [w.m], descr);
  writeNpyFile(path.join(dir, 'b_dec.npy'), w.b_dec, [w.d], descr);
  if (w.activation?.kind === 'jumprelu') writeNpyFile(path.join(dir, 'threshold.npy'), w.activation.threshold, [w.m], descr);
  if (p.log10Density) writeNpyFile(path.join(dir, 'log10_density.npy'), p.log10Density, [w.m], descr);
  if (p.subset) writeNpyFile(path.join(dir, 'feature_indices.npy'), p.featureIndex, [w.m], '<i4');
  writeJsonAtomic(path.join(dir, 'meta.json'), describe(p));
}

/**
 * One row per feature: index (Int32), decoder and encoder (FixedSizeList<Float32>[d]), b_enc,
 * log10_density, then the run's scalar statistics. b_dec (a JSON array) and the description
 * (d_in, d_sae, model_name, hook_name, data.*, provenance) are schema metadata.
 */
export function writeArrowExport(file: string, p: ExportPayload): void {
  const w = p.weights;
  const columns: ArrowColumn[] = [
    { name: 'index', kind: 'int32', values: p.featureIndex },
    { name: 'decoder', kind: 'vector', width: w.d, values: w.W_dec },
    { name: 'encoder', kind: 'vector', width: w.d, values: encoderRows(w) },
    { name: 'b_enc', kind: 'float32', values: w.b_enc },
    ...(w.activation?.kind === 'jumprelu' ? [{ name: 'threshold', kind: 'float32' as const, values: w.activation.threshold }] : []),
  ];
  // The statistics table usually carries log10_density itself; add ours only when it does not.
  const statsHaveDensity = p.stats?.columns.some((c) => c.name === 'log10_density') ?? false;
  if (p.log10Density && !statsHaveDensity) columns.push({ name: 'log10_density', kind: 'float32', values: p.log10Density });
  if (p.stats) columns.push(...statsColumns(p.stats, p.featureIndex, new Set(columns.map((c) => c.name))));
  writeArrowFile(file, columns, { ...describe(p), b_dec: JSON.stringify(Array.from(w.b_dec)) });
}

/** {d_in, d_sae, b_dec, ..., features: [{index, b_enc, encoder, decoder, log10_density?, ...stats}]}. */
export function writeJsonExport(file: string, p: ExportPayload): void {
  const w = p.weights;
  const statsHaveDensity = p.stats?.columns.some((c) => c.name === 'log10_density') ?? false;
  const density = statsHaveDensity ? null : p.log10Density;
  const taken = new Set(['index', 'b_enc', 'encoder', 'decoder', ...(density ? ['log10_density'] : [])]);
  const features = Array.from(p.featureIndex, (index, j) => ({
    index,
    b_enc: w.b_enc[j]!,
    ...(w.activation?.kind === 'jumprelu' ? { threshold: w.activation.threshold[j]! } : {}),
    encoder: Array.from(encoderColumn(w, j)),
    decoder: Array.from(w.W_dec.subarray(j * w.d, (j + 1) * w.d)),
    ...(density ? { log10_density: density[j]! } : {}),
    ...(p.stats ? statsRecord(p.stats, index, taken) : {}),
  }));
  const info = describe(p);
  writeJsonAtomic(file, {
    ...info,
    d_in: w.d,
    d_sae: w.m,
    b_dec: Array.from(w.b_dec),
    features,
  });
}
