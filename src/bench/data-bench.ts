import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSynthetic } from '../data/synth/write.js';
import { SYNTH_DEFAULTS } from '../data/synth/synth.js';
import { measureDataThroughput } from '../data/throughput.js';
import { fixturePath } from './bench-data.js';

export interface DataBenchResult {
  /** What was read: the real-model fixture or a synthetic file of width d. */
  source: string;
  d: number;
  rows: number;
  seconds: number;
  /** Rows per second decoded from Arrow into shuffled training batches of 4096 (median pass). */
  rowsPerSecond: number;
  /** Every pass's rows per second; the first includes the JIT warming up. */
  passRowsPerSecond: number[];
}

/** Passes over each file: training reads for minutes, so the steady state is the figure. */
const PASSES = 3;

async function measure(file: string): Promise<Omit<DataBenchResult, 'source' | 'd'>> {
  const passes = [];
  for (let k = 0; k < PASSES; k++) passes.push(await measureDataThroughput([file]));
  const sorted = [...passes].sort((a, b) => a.rowsPerSecond - b.rowsPerSecond);
  const mid = sorted[Math.floor(PASSES / 2)]!;
  return { ...mid, passRowsPerSecond: passes.map((p) => p.rowsPerSecond) };
}

/**
 * The data path alone (Arrow file -> decoded, shuffled Float32 batches), on the fixture (small:
 * opening costs weigh in) and on synthetic files of 64 MiB at widths 64 and 512, written to a
 * temporary folder (removed after); the median of three passes over each.
 */
export async function runDataBench(widths: number[] = [64, 512], bytes = 64 * 2 ** 20): Promise<DataBenchResult[]> {
  const out: DataBenchResult[] = [];
  const fixture = fixturePath();
  if (fs.existsSync(fixture)) {
    const t = await measure(fixture);
    out.push({ source: 'fixture stories260k-L2 (d=64)', d: 64, ...t });
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-bench-'));
  try {
    for (const d of widths) {
      const file = path.join(dir, `synthetic-${d}.arrow`);
      const rows = Math.floor(bytes / (4 * d));
      await writeSynthetic({ ...SYNTH_DEFAULTS, rows, dim: d, features: 2 * d, active: 16, seed: 1, out: file, evalRows: 0, force: true });
      const t = await measure(file);
      out.push({ source: `synthetic (d=${d})`, d, ...t });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
