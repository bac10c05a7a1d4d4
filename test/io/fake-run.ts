import path from 'node:path';
import { writeArrowFile, type ArrowColumn } from '../../src/io/arrow-write.js';
import { createRunDir, writeFinalDictionary, writeRunConfig, writeRunInfo } from '../../src/io/run-dir.js';
import { RUN_FORMAT_VERSION, type RunInfo } from '../../src/io/run-layout.js';
import type { SaeWeights } from '../../src/sae/params.js';

export const DATA_METADATA = { model: 'stories260k', layer: '2', hook: 'resid_post' };

export function runInfo(w: { d: number; m: number }, over: Partial<RunInfo> = {}): RunInfo {
  return {
    formatVersion: RUN_FORMAT_VERSION,
    status: 'finished',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:10:00.000Z',
    backend: 'cpu',
    d: w.d,
    m: w.m,
    totalSteps: 100,
    step: 100,
    tokens: 409600,
    inputScale: 1,
    dataMetadata: { ...DATA_METADATA },
    trainRows: 8192,
    evalRows: 2048,
    seed: 0,
    ...over,
  };
}

/** A run directory as `sae train` leaves it, built with the io writers (no training). */
export function makeFakeRun(
  dir: string,
  w: SaeWeights,
  opts: { final?: boolean; density?: boolean; stats?: ArrowColumn[]; info?: Partial<RunInfo> } = {},
): string {
  createRunDir(dir, { force: false });
  writeRunConfig(dir, { data: { train: ['fixtures/a.arrow'] }, sae: { expansion: w.m / w.d } });
  writeRunInfo(dir, runInfo(w, opts.info));
  if (opts.final ?? true) {
    const log10Density = opts.density === false ? undefined : Float32Array.from({ length: w.m }, (_, i) => -1 - (i % 5) * 0.5);
    writeFinalDictionary(dir, w, { dataMetadata: { ...DATA_METADATA }, ...(log10Density ? { log10Density } : {}) });
  }
  if (opts.stats) writeArrowFile(path.join(dir, 'features.arrow'), opts.stats, { sae_features_format: '1' });
  return dir;
}
