import fs from 'node:fs';
import path from 'node:path';
import {
  Bool,
  Field,
  Float32,
  Float64,
  Int32,
  List,
  Struct,
  Table,
  Utf8,
  makeVector,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Vector,
} from 'apache-arrow';
import { RunError, describeError } from '../errors.js';
import type { FeatureStats, TopExample } from './stats.js';
import { FEATURES_FORMAT_VERSION, summarizeFeatureStats } from './summary.js';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import { RUN_FILES, runFile } from '../io/run-layout.js';

/**
 * features.arrow: one row per feature, Arrow IPC file format, snake_case columns for Python readers.
 *
 *   index Int32 | fire_count Int32 | frequency, log10_density, mean_activation, std_activation,
 *   max_activation, decoder_norm, encoder_norm, encoder_decoder_cos Float32 |
 *   nearest_index Int32 (null: m = 1) | nearest_cos Float32 (null: m = 1) | resample_count Int32 |
 *   last_resample_step Int32 (null: never) | dead Bool | dense Bool |
 *   top_examples List<Struct<row_id Float64, activation Float32, doc_id Int32?, pos Int32?,
 *     token_id Int32?, token Utf8?, context List<Utf8>, focus Int32>>  (best first; `focus` is the
 *     index of the activating token inside `context`, -1 without token metadata)
 *
 * mean/std/max are over the rows where the feature fires (f > 0); std is the population std;
 * log10_density = log10(frequency + 1e-10). Schema metadata: sae_features_format, d, rows, top_k,
 * context_tokens, dense_threshold, dead_threshold.
 */

const FLOAT_COLUMNS = [
  ['frequency', 'frequency'],
  ['log10_density', 'log10Density'],
  ['mean_activation', 'meanActivation'],
  ['std_activation', 'stdActivation'],
  ['max_activation', 'maxActivation'],
  ['decoder_norm', 'decoderNorm'],
  ['encoder_norm', 'encoderNorm'],
  ['encoder_decoder_cos', 'encoderDecoderCos'],
] as const;

const exampleType = new Struct([
  new Field('row_id', new Float64(), false),
  new Field('activation', new Float32(), false),
  new Field('doc_id', new Int32(), true),
  new Field('pos', new Int32(), true),
  new Field('token_id', new Int32(), true),
  new Field('token', new Utf8(), true),
  new Field('context', new List(new Field('item', new Utf8(), false)), false),
  new Field('focus', new Int32(), false),
]);

interface ExampleRow {
  row_id: number;
  activation: number;
  doc_id: number | null;
  pos: number | null;
  token_id: number | null;
  token: string | null;
  context: string[];
  focus: number;
}

/** The statistics as an Arrow table (columns documented above). */
export function featureStatsToTable(stats: FeatureStats): Table {
  const { m } = stats;
  const nullable = (a: ArrayLike<number>, isNull: (v: number) => boolean, type: Int32 | Float32): Vector =>
    vectorFromArray(Array.from(a, (v) => (isNull(v) ? null : v)), type);
  const columns: Record<string, Vector> = {
    index: makeVector(Int32Array.from({ length: m }, (_, i) => i)),
    fire_count: makeVector(Int32Array.from(stats.fireCount)),
  };
  for (const [col, key] of FLOAT_COLUMNS) columns[col] = makeVector(stats[key]);
  columns.nearest_index = nullable(stats.nearestIndex, (v) => v < 0, new Int32());
  columns.nearest_cos = nullable(stats.nearestCos, Number.isNaN, new Float32());
  columns.resample_count = makeVector(Int32Array.from(stats.resampleCount));
  columns.last_resample_step = nullable(stats.lastResampleStep, (v) => v < 0, new Int32());
  columns.dead = vectorFromArray(Array.from(stats.dead, (v) => v === 1), new Bool());
  columns.dense = vectorFromArray(Array.from(stats.dense, (v) => v === 1), new Bool());
  const examples: ExampleRow[][] = stats.topExamples.map((list) =>
    list.map((e) => ({
      row_id: e.rowId,
      activation: e.activation,
      doc_id: e.docId,
      pos: e.pos,
      token_id: e.tokenId,
      token: e.token,
      context: e.context,
      focus: e.focus,
    })),
  );
  columns.top_examples = vectorFromArray(examples, new List(new Field('item', exampleType, false)));
  const table = new Table(columns);
  const meta: Record<string, string | number> = {
    sae_features_format: FEATURES_FORMAT_VERSION,
    d: stats.d,
    rows: stats.rows,
    top_k: stats.settings.topK,
    context_tokens: stats.settings.contextTokens,
    dense_threshold: stats.settings.denseThreshold,
    dead_threshold: stats.settings.deadThreshold,
  };
  for (const [k, v] of Object.entries(meta)) table.schema.metadata.set(k, String(v));
  return table;
}

/**
 * Write the statistics table to `arrowPath` and its summary (features.json format) to `jsonPath`,
 * each atomically (temporary name + rename): a reader sees the old file or the new, never a part.
 */
export function writeFeatureStatsFiles(arrowPath: string, jsonPath: string, stats: FeatureStats): void {
  writeFileAtomic(arrowPath, tableToIPC(featureStatsToTable(stats), 'file'));
  writeJsonAtomic(jsonPath, summarizeFeatureStats(stats));
}

/** Write <run>/features.arrow and <run>/features.json, replacing earlier ones. */
export function writeFeatureStats(runDir: string, stats: FeatureStats): void {
  writeFeatureStatsFiles(runFile(runDir, 'features'), runFile(runDir, 'featuresSummary'), stats);
}

function exampleFromRow(s: ExampleRow & { context: Iterable<string> | null }): TopExample {
  return {
    rowId: s.row_id,
    activation: s.activation,
    docId: s.doc_id,
    pos: s.pos,
    tokenId: s.token_id,
    token: s.token,
    context: s.context ? Array.from(s.context) : [],
    focus: s.focus,
  };
}

function runStatus(dir: string): string | null {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.run), 'utf8')) as { status?: string }).status ?? null;
  } catch {
    return null;
  }
}

/**
 * Read a statistics table: `<run>/features.arrow` for a run directory, or the given .arrow file.
 * RunError when the run or the table is missing or is not a features table.
 */
export function readFeatureStats(runDirOrFile: string): FeatureStats {
  if (!fs.existsSync(runDirOrFile)) {
    throw new RunError(`${runDirOrFile} does not exist.`, 'Give the path of a run directory made by `sae train` (e.g. runs/<name>).');
  }
  const isDir = fs.statSync(runDirOrFile).isDirectory();
  const file = isDir ? path.join(runDirOrFile, RUN_FILES.features) : runDirOrFile;
  if (!fs.existsSync(file)) {
    const status = isDir ? runStatus(runDirOrFile) : null;
    const why = status && status !== 'finished' ? `: the run is ${status} (training writes them when it finishes)` : '';
    throw new RunError(
      `${runDirOrFile} has no feature statistics (${RUN_FILES.features})${why}.`,
      `Compute them with \`sae stats ${runDirOrFile} --data <arrow files>\`${why ? ' (it uses the newest checkpoint)' : ''}.`,
    );
  }
  const bad = (what: string) =>
    new RunError(`${file}: ${what}; it is not a feature statistics table written by \`sae stats\`.`, 'Recompute it with `sae stats <run> --data <arrow files>`.');
  let table: Table;
  try {
    table = tableFromIPC(fs.readFileSync(file));
  } catch (err) {
    throw bad(`unreadable Arrow file (${describeError(err)})`);
  }
  const col = (name: string): Vector => {
    const c = table.getChild(name);
    if (!c) throw bad(`column '${name}' is missing`);
    return c;
  };
  const meta = (key: string): number => {
    const v = Number(table.schema.metadata.get(key));
    if (!Number.isFinite(v)) throw bad(`schema metadata '${key}' is missing`);
    return v;
  };
  const m = table.numRows;
  const floats = (name: string) => Float32Array.from(col(name).toArray() as Float32Array);
  const withNull = (name: string, ifNull: number) => {
    const c = col(name);
    return Array.from({ length: m }, (_, i) => (c.get(i) as number | null) ?? ifNull);
  };
  const flags = (name: string) => {
    const c = col(name);
    return Uint8Array.from({ length: m }, (_, i) => (c.get(i) ? 1 : 0));
  };
  const ex = col('top_examples');
  const stats: FeatureStats = {
    d: meta('d'),
    m,
    rows: meta('rows'),
    settings: {
      topK: meta('top_k'),
      contextTokens: meta('context_tokens'),
      denseThreshold: meta('dense_threshold'),
      deadThreshold: meta('dead_threshold'),
    },
    fireCount: Float64Array.from(col('fire_count').toArray() as Int32Array),
    frequency: floats('frequency'),
    log10Density: floats('log10_density'),
    meanActivation: floats('mean_activation'),
    stdActivation: floats('std_activation'),
    maxActivation: floats('max_activation'),
    decoderNorm: floats('decoder_norm'),
    encoderNorm: floats('encoder_norm'),
    encoderDecoderCos: floats('encoder_decoder_cos'),
    nearestIndex: Int32Array.from(withNull('nearest_index', -1)),
    nearestCos: Float32Array.from(withNull('nearest_cos', NaN)),
    resampleCount: Int32Array.from(col('resample_count').toArray() as Int32Array),
    lastResampleStep: Int32Array.from(withNull('last_resample_step', -1)),
    dead: flags('dead'),
    dense: flags('dense'),
    topExamples: Array.from({ length: m }, (_, i) => {
      const list = ex.get(i) as Vector | null;
      return list ? Array.from(list, (s) => exampleFromRow(s as ExampleRow)) : [];
    }),
  };
  return stats;
}
