import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, RunError } from '../errors.js';
import { fsError, fsyncDir, tempPathBeside } from './atomic.js';
import { parseFeatureSelection, pickValues, selectFeatures, unitNormDecoder } from './dictionary-select.js';
import {
  writeArrowExport,
  writeJsonExport,
  writeNpyExport,
  writeSaelensExport,
  writeSafetensorsExport,
  type ExportPayload,
} from './export-formats.js';
import { readStatsTable } from './export-stats.js';
import { writeSparsifyExport } from './sparsify.js';
import { openRun } from './run-dir.js';
import { hookNameFrom, UNKNOWN_HOOK } from './saelens.js';
import { readRunDictionary } from './run-weights.js';
import { RUN_FILES, runFile } from './run-layout.js';
import { DEFAULT_MAX_JSON_FEATURES, EXPORT_FORMATS, type ExportFormat } from './export-choices.js';

export { EXPORT_FORMATS, DEFAULT_MAX_JSON_FEATURES, type ExportFormat } from './export-choices.js';

export interface ExportOptions {
  format: string;
  /** Output path: a folder for saelens/npy, a file otherwise. */
  out: string;
  dtype?: 'float32' | 'float16';
  /** Feature selection, e.g. "0-99,200,300-310". */
  features?: string;
  /** Rescale to unit-norm decoder rows (x_hat unchanged). */
  unitDecoder?: boolean;
  /** Overwrite an existing output; also lifts the json size limit. */
  force?: boolean;
  maxJsonFeatures?: number;
  /** TransformerLens hook name to record (overrides the data's metadata; needed when it names none). */
  hookName?: string;
}

export interface ExportResult {
  format: ExportFormat;
  /** Absolute output path. */
  out: string;
  /** Files written, relative to `out` for folders, or the file's own name. */
  files: string[];
  bytes: number;
  dIn: number;
  dSae: number;
  /** Features in the source dictionary. */
  sourceFeatures: number;
  dtype: 'float32' | 'float16';
  unitDecoder: boolean;
  /** Things the user should know about the export (e.g. no hook name in the data). */
  warnings: string[];
  /** The step of the dictionary used: the final one, or the newest checkpoint of an unfinished run (note says so). */
  source: { step: number; final: boolean; note: string | null };
}

const WRITERS: Record<ExportFormat, (target: string, p: ExportPayload) => void> = {
  saelens: writeSaelensExport,
  safetensors: writeSafetensorsExport,
  npy: writeNpyExport,
  arrow: writeArrowExport,
  json: writeJsonExport,
  sparsify: writeSparsifyExport,
};

function isFormat(f: string): f is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(f);
}

/** Compact ranges of sorted indices: [0,1,2,5] -> "0-2,5". */
export function formatRanges(idx: Int32Array): string {
  const parts: string[] = [];
  for (let s = 0; s < idx.length; ) {
    let e = s;
    while (e + 1 < idx.length && idx[e + 1] === idx[e]! + 1) e++;
    parts.push(s === e ? `${idx[s]}` : `${idx[s]}-${idx[e]}`);
    s = e + 1;
  }
  return parts.join(',');
}

/** Refuse outputs that would overwrite the run itself or one of its files. */
function guardOut(out: string, runDir: string): void {
  const rel = path.relative(out, runDir);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
    throw new RunError(`--out ${out} is the run directory or contains it; exporting there would destroy the run.`, 'Choose an output path outside the run, e.g. exports/<name>.');
  }
  if (path.dirname(out) === runDir && (Object.values(RUN_FILES) as string[]).includes(path.basename(out))) {
    throw new RunError(`--out ${out} is one of the run's own files.`, 'Choose another name, e.g. exports/<name>.');
  }
}

function listFiles(target: string): { files: string[]; bytes: number } {
  const st = fs.statSync(target);
  if (!st.isDirectory()) return { files: [path.basename(target)], bytes: st.size };
  // Recursive: sparsify's layout has a folder per hook.
  const files = (fs.readdirSync(target, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(target, f)).isFile()).sort();
  return { files, bytes: files.reduce((s, f) => s + fs.statSync(path.join(target, f)).size, 0) };
}

/**
 * Move the finished temporary output into place. An existing output (allowed by --force) is
 * moved aside first and deleted only after the new one is in place.
 */
function publish(tmp: string, out: string, force: boolean): void {
  let aside: string | null = null;
  if (fs.existsSync(out)) {
    if (!force) throw new RunError(`${out} already exists.`, 'Use --force to overwrite it, or choose another --out.');
    aside = tempPathBeside(out) + '.old';
    fs.renameSync(out, aside);
  }
  try {
    fs.renameSync(tmp, out);
  } catch (err) {
    if (aside) fs.renameSync(aside, out);
    throw err;
  }
  if (aside) fs.rmSync(aside, { recursive: true, force: true });
  fsyncDir(path.dirname(out));
}

/**
 * Export a run's final dictionary. Nothing is left half-written: the output is built under a
 * temporary name beside `out` and renamed into place at the end (removed on any error).
 */
export function exportDictionary(runDir: string, opts: ExportOptions): ExportResult {
  if (!isFormat(opts.format)) {
    throw new ConfigError(`Unknown export format '${opts.format}'.`, `Use one of: ${EXPORT_FORMATS.join(', ')}.`);
  }
  const format = opts.format;
  const dtype = opts.dtype ?? 'float32';
  if (dtype === 'float16' && (format === 'arrow' || format === 'json')) {
    throw new ConfigError(`--dtype float16 is not available for ${format} exports (they store float32).`, 'Use --format saelens, safetensors or npy for float16, or drop --dtype.');
  }
  const force = opts.force ?? false;
  const out = path.resolve(opts.out);
  const run = openRun(runDir);
  guardOut(out, run.dir);
  if (fs.existsSync(out) && !force) {
    throw new RunError(`${opts.out} already exists.`, 'Use --force to overwrite it, or choose another --out.');
  }
  const final = readRunDictionary(runDir);
  const source = final.weights;
  const m = source.m;

  const featureIndex = opts.features !== undefined ? parseFeatureSelection(opts.features, m) : Int32Array.from({ length: m }, (_, i) => i);
  const subset = featureIndex.length !== m;
  const limit = opts.maxJsonFeatures ?? DEFAULT_MAX_JSON_FEATURES;
  if (format === 'json' && featureIndex.length > limit && !force) {
    throw new RunError(
      `A json export of ${featureIndex.length} features is above the limit of ${limit}.`,
      'Select fewer with --features, raise --max-json-features, pass --force, or use --format arrow for large dictionaries.',
    );
  }
  let weights = subset ? selectFeatures(source, featureIndex) : source;
  if (opts.unitDecoder) weights = unitNormDecoder(weights);
  const density = final.log10Density ? (subset ? pickValues(final.log10Density, featureIndex) : final.log10Density) : null;

  const provenance: Record<string, string> = {
    source_run: run.dir,
    source_step: String(final.step),
    ...(final.final ? {} : { source_checkpoint: 'true' }),
    unit_decoder: String(opts.unitDecoder ?? false),
    ...(subset ? { features: formatRanges(featureIndex), source_d_sae: String(m) } : {}),
  };
  const dataMetadata = { ...run.info.dataMetadata, ...(opts.hookName ? { hook_name: opts.hookName } : {}) };
  const warnings =
    hookNameFrom(dataMetadata) === UNKNOWN_HOOK
      ? [`the data's metadata names no hook (it has: ${Object.keys(run.info.dataMetadata).join(', ') || 'nothing'}), so hook_name is '${UNKNOWN_HOOK}'; give it with --hook-name, e.g. --hook-name blocks.3.hook_resid_post`]
      : [];
  const payload: ExportPayload = {
    weights,
    featureIndex,
    subset,
    log10Density: density,
    dataMetadata,
    dtype,
    provenance,
    stats: format === 'arrow' || format === 'json' ? readStatsTable(runFile(runDir, 'features'), m) : null,
  };

  try {
    fs.mkdirSync(path.dirname(out), { recursive: true });
  } catch (err) {
    throw fsError(err, path.dirname(out), 'create the output folder');
  }
  const tmp = tempPathBeside(out);
  try {
    WRITERS[format](tmp, payload);
    publish(tmp, out, force);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // OS errors (ENOSPC, EACCES, ...) become a RunError naming the output; anything else is ours.
    if (typeof (err as NodeJS.ErrnoException | null)?.code === 'string') throw fsError(err, out, 'write the export');
    throw err;
  }
  const { files, bytes } = listFiles(out);
  return { format, out, files, bytes, dIn: weights.d, dSae: weights.m, sourceFeatures: m, dtype, unitDecoder: opts.unitDecoder ?? false, warnings, source: { step: final.step, final: final.final, note: final.note } };
}
