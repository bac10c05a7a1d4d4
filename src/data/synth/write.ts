import fs from 'node:fs';
import path from 'node:path';
import { Float64, Int32 } from 'apache-arrow';
import { tableToIPC, Table } from 'apache-arrow';
import { RunError } from '../../errors.js';
import { fsError, writeFileAtomic, writeJsonAtomic } from '../../io/atomic.js';
import { writeSafetensorsFile } from '../../io/safetensors.js';
import { ArrowFileSink, float64Column, int32Column, recordBatch, schemaOf, vectorColumn, vectorType } from './arrow.js';
import { SynthGenerator, type SynthOptions } from './synth.js';

/** Where `sae synth` writes: a folder, or a data file with the other files named after it. */
export interface SynthPaths {
  activations: string;
  eval: string;
  groundTruthArrow: string;
  groundTruthSafetensors: string;
  summary: string;
}

export interface SynthWriteOptions extends SynthOptions {
  /** A folder (activations.arrow, eval.arrow, ground-truth.{arrow,safetensors}, synth.json) or a path ending in .arrow. */
  out: string;
  /** Extra rows from the same generator written to a separate held-out file (0: none). */
  evalRows: number;
  /** Replace existing output files. */
  force: boolean;
  onProgress?: (rowsDone: number, rowsTotal: number) => void;
}

export interface SynthReport {
  files: Partial<SynthPaths>;
  options: SynthOptions & { evalRows: number };
  measured: {
    meanActive: number;
    emptyFraction: number;
    minFeatureFrequency: number;
    maxFeatureFrequency: number;
    /** Largest |cos| between two distinct ground-truth directions. */
    maxAbsOffDiagonalCosine: number;
  };
  seconds: number;
}

export function synthPaths(out: string): SynthPaths {
  if (out.endsWith('.arrow')) {
    const stem = out.slice(0, -'.arrow'.length);
    return {
      activations: out,
      eval: `${stem}.eval.arrow`,
      groundTruthArrow: `${stem}.ground-truth.arrow`,
      groundTruthSafetensors: `${stem}.ground-truth.safetensors`,
      summary: `${stem}.synth.json`,
    };
  }
  return {
    activations: path.join(out, 'activations.arrow'),
    eval: path.join(out, 'eval.arrow'),
    groundTruthArrow: path.join(out, 'ground-truth.arrow'),
    groundTruthSafetensors: path.join(out, 'ground-truth.safetensors'),
    summary: path.join(out, 'synth.json'),
  };
}

function metadataOf(o: SynthOptions, split: string, rows: number): Record<string, string> {
  return {
    generator: 'sae synth',
    reference: 'Sharkey, Braun & Millidge 2022; Cunningham et al. 2023 (toy superposition data)',
    split,
    rows: String(rows),
    features: String(o.features),
    dim: String(o.dim),
    active: String(o.active),
    decay: String(o.decay),
    correlated: String(o.correlated),
    noise: String(o.noise),
    seed: String(o.seed),
    magnitudes: 'U(0,1) * U(0,1)',
  };
}

function maxAbsOffDiagonalCosine(g: Float32Array, n: number, d: number): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += g[i * d + k]! * g[j * d + k]!;
      worst = Math.max(worst, Math.abs(s));
    }
  }
  return worst;
}

async function writeSplit(gen: SynthGenerator, file: string, rows: number, meta: Record<string, string>, o: SynthWriteOptions): Promise<void> {
  const schema = schemaOf([['activation', vectorType(o.dim)]], meta);
  const sink = new ArrowFileSink(file);
  try {
    let written = 0;
    while (written < rows) {
      const block = gen.nextBlock(rows - written)!;
      await sink.write(recordBatch(schema, [vectorColumn(block.x, block.rows, o.dim)], block.rows));
      written += block.rows;
      o.onProgress?.(gen.rowsDone, o.rows + o.evalRows);
    }
    await sink.close();
  } catch (err) {
    sink.abort();
    throw err;
  }
}

/**
 * Generate synthetic superposition data (see synth.ts) and write it with its ground truth:
 * activations as Arrow FixedSizeList<Float32>[dim] batches (streamed), the dictionary as Arrow
 * (one row per feature: `feature`, `probability`, `direction`) and safetensors (`W_true`
 * [features, dim], `probability` [features]), plus a JSON summary with measured statistics.
 */
export async function writeSynthetic(o: SynthWriteOptions): Promise<SynthReport> {
  const t0 = Date.now();
  if (!o.out.endsWith('.arrow')) {
    try {
      fs.mkdirSync(o.out, { recursive: true });
    } catch (err) {
      throw fsError(err, o.out, 'create the folder');
    }
  }
  const p = synthPaths(o.out);
  const targets: (keyof SynthPaths)[] = ['activations', 'groundTruthArrow', 'groundTruthSafetensors', 'summary'];
  if (o.evalRows > 0) targets.push('eval');
  const existing = targets.map((k) => p[k]).filter((f) => fs.existsSync(f));
  if (existing.length && !o.force) {
    throw new RunError(`${existing[0]} already exists${existing.length > 1 ? ` (and ${existing.length - 1} more output file(s))` : ''}.`, 'Pass --force to replace it, or choose another --out.');
  }
  const gen = new SynthGenerator({ ...o, rows: o.rows + o.evalRows });
  const G = gen.groundTruth;

  const gtSchema = schemaOf(
    [['feature', new Int32()], ['probability', new Float64()], ['direction', vectorType(o.dim)]],
    metadataOf(o, 'ground-truth', o.features),
  );
  const gtBatch = recordBatch(
    gtSchema,
    [int32Column(Int32Array.from({ length: o.features }, (_, i) => i)), float64Column(gen.probabilities), vectorColumn(G, o.features, o.dim)],
    o.features,
  );
  writeFileAtomic(p.groundTruthArrow, tableToIPC(new Table([gtBatch]), 'file'));
  writeSafetensorsFile(
    p.groundTruthSafetensors,
    {
      W_true: { dtype: 'F32', shape: [o.features, o.dim], data: G },
      probability: { dtype: 'F32', shape: [o.features], data: Float32Array.from(gen.probabilities) },
    },
    metadataOf(o, 'ground-truth', o.features),
  );

  await writeSplit(gen, p.activations, o.rows, metadataOf(o, 'train', o.rows), o);
  if (o.evalRows > 0) await writeSplit(gen, p.eval, o.evalRows, metadataOf(o, 'eval', o.evalRows), o);

  let minF = Infinity;
  let maxF = 0;
  for (const c of gen.featureCounts) {
    minF = Math.min(minF, c / gen.rowsDone);
    maxF = Math.max(maxF, c / gen.rowsDone);
  }
  const { out: _out, force: _force, onProgress: _p, ...options } = o;
  const report: SynthReport = {
    files: {
      activations: p.activations,
      ...(o.evalRows > 0 ? { eval: p.eval } : {}),
      groundTruthArrow: p.groundTruthArrow,
      groundTruthSafetensors: p.groundTruthSafetensors,
      summary: p.summary,
    },
    options,
    measured: {
      meanActive: gen.activeTotal / gen.rowsDone,
      emptyFraction: gen.emptyRows / gen.rowsDone,
      minFeatureFrequency: minF,
      maxFeatureFrequency: maxF,
      maxAbsOffDiagonalCosine: maxAbsOffDiagonalCosine(G, o.features, o.dim),
    },
    seconds: (Date.now() - t0) / 1000,
  };
  writeJsonAtomic(p.summary, report);
  return report;
}
