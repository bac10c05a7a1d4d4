import * as tf from '../backend/tfjs.js';
import type { Batch } from '../data/types.js';
import { DataError } from '../errors.js';
import { encode, type SaeTensors } from '../sae/forward.js';
import { HostForward } from '../eval/host-forward.js';
import type { SaeWeights } from '../sae/params.js';
import { FeatureMoments } from './accumulate.js';
import { dictionaryGeometry } from './geometry.js';
import type { ResampleHistoryEntry } from './resample-history.js';
import { FeatureTopK } from '../eval/top-k.js';
import { collectContexts, hasRowMeta, type TokenContext } from '../eval/top-k-context.js';

/** One top activating example of a feature: the row, its activation, and its token context. */
export interface TopExample extends TokenContext {
  rowId: number;
  activation: number;
}

export interface FeatureStatsSettings {
  topK: number;
  contextTokens: number;
  /** A feature is dense when its firing frequency is above this. */
  denseThreshold: number;
  /** A feature is dead when its firing frequency is at or below this (0: never fired). */
  deadThreshold: number;
}

/**
 * Statistics of every feature (arrays of length m, struct-of-arrays; float32 like the table, counts
 * exact). "Fires" means f_i > 0;
 * mean / std / max of the activation are over the rows where the feature fires (std: population).
 */
export interface FeatureStats {
  d: number;
  m: number;
  /** Rows the statistics were computed on. */
  rows: number;
  settings: FeatureStatsSettings;
  fireCount: Float64Array;
  /** fireCount / rows. */
  frequency: Float32Array;
  /** log10(frequency + 1e-10), SAELens' "feature sparsity" convention (never fired: -10). */
  log10Density: Float32Array;
  meanActivation: Float32Array;
  stdActivation: Float32Array;
  maxActivation: Float32Array;
  decoderNorm: Float32Array;
  encoderNorm: Float32Array;
  encoderDecoderCos: Float32Array;
  /** Most similar other decoder row (-1 if none) and the cosine to it (NaN if none). */
  nearestIndex: Int32Array;
  nearestCos: Float32Array;
  resampleCount: Int32Array;
  /** Step of the last resampling, -1 if never resampled. */
  lastResampleStep: Int32Array;
  /** 1/0 flags. */
  dead: Uint8Array;
  dense: Uint8Array;
  /** Best first, at most topK each. */
  topExamples: TopExample[][];
}

export interface FeatureStatsOptions {
  topK: number;
  contextTokens: number;
  denseThreshold: number;
  deadThreshold?: number;
  /** Use at most this many rows of the source. */
  maxRows?: number;
  resampleHistory?: Map<number, ResampleHistoryEntry>;
  /**
   * Where to read token context from (default: `source`). Give the full dump when `source` is a
   * subset of it with the same global row ids (e.g. rows held out by hash), so windows are complete.
   */
  contextSource?: () => AsyncIterable<Batch>;
  /** Rows encoded at once (default: about 2M activations per chunk). */
  chunkRows?: number;
  /** Called after each block with the rows processed so far. */
  onProgress?: (rows: number) => void;
}

function isWeights(sae: SaeTensors | SaeWeights): sae is SaeWeights {
  return sae.W_enc instanceof Float32Array;
}

function toTensors(w: SaeWeights): SaeTensors {
  return {
    W_enc: tf.tensor2d(w.W_enc, [w.d, w.m]),
    b_enc: tf.tensor1d(w.b_enc),
    W_dec: tf.tensor2d(w.W_dec, [w.m, w.d]),
    b_dec: tf.tensor1d(w.b_dec),
    ...(w.activation ? { activation: w.activation } : {}),
  };
}

/**
 * Encode x [rows, d] chunk by chunk and feed the activations to the pass; with `host` (the
 * wasm backend) on its SIMD products, the same bits as tfjs' encode.
 */
async function accumulateBatch(
  sae: SaeTensors,
  x: Float32Array,
  rows: number,
  rowIds: Float64Array,
  chunkRows: number,
  pass: FeatureStatsPass,
  host: HostForward | null,
): Promise<void> {
  const d = sae.W_enc.shape[0];
  for (let start = 0; start < rows; start += chunkRows) {
    const n = Math.min(chunkRows, rows - start);
    if (host) {
      pass.add(host.encode(x.subarray(start * d, (start + n) * d), n), n, rowIds.subarray(start, start + n));
      continue;
    }
    const f = tf.tidy(() => encode(sae, tf.tensor2d(x.subarray(start * d, (start + n) * d), [n, d])));
    const fHost = (await f.data()) as Float32Array;
    f.dispose();
    pass.add(fHost, n, rowIds.subarray(start, start + n));
  }
}

/**
 * The statistics' pass over held-out activations, fed chunk by chunk in row order by whoever
 * encodes the rows: computeFeatureStats, or the held-out evaluation at the end of a run
 * (train/finish.ts: one encode for both). Takes the first `maxRows` rows it is offered; result()
 * adds the dictionary's geometry and the top examples' token context.
 */
export class FeatureStatsPass {
  readonly settings: FeatureStatsSettings;
  private readonly moments: FeatureMoments;
  private readonly topK: FeatureTopK | null;
  private readonly maxRows: number;
  private withMeta = false;

  constructor(
    readonly d: number,
    readonly m: number,
    private readonly opts: FeatureStatsOptions,
  ) {
    this.settings = { topK: opts.topK, contextTokens: opts.contextTokens, denseThreshold: opts.denseThreshold, deadThreshold: opts.deadThreshold ?? 0 };
    this.moments = new FeatureMoments(m);
    this.topK = opts.topK > 0 ? new FeatureTopK(m, opts.topK) : null;
    this.maxRows = opts.maxRows ?? Infinity;
  }

  /** Rows seen so far. */
  get rows(): number {
    return this.moments.rows;
  }

  /** Rows it still takes (Infinity without maxRows). */
  remaining(): number {
    return this.maxRows - this.moments.rows;
  }

  /** A block of the source (before its rows are added): its width is checked and its metadata noted. */
  noteBatch(batch: Batch): void {
    if (batch.d !== this.d) {
      throw new DataError(
        `activation rows have width ${batch.d}, but the dictionary's input width is ${this.d}.`,
        'Compute statistics on activations from the model, layer and hook the SAE was trained on.',
      );
    }
    this.withMeta ||= hasRowMeta(batch.meta);
  }

  /** Activations f [rows, m] of the rows rowIds (the next ones in order); beyond maxRows they are ignored. */
  add(f: Float32Array, rows: number, rowIds: Float64Array): void {
    const n = Math.min(rows, this.remaining());
    if (n > 0) this.moments.add(f, n, rowIds, this.topK);
  }

  /** The statistics, with the geometry of `sae` and the contexts read from `source` (or opts.contextSource). */
  async result(sae: SaeTensors, source: () => AsyncIterable<Batch>): Promise<FeatureStats> {
    const { moments, topK, settings } = this;
    if (moments.rows === 0) {
      throw new DataError(
        'no activation rows to compute feature statistics on.',
        'Give held-out data with at least one row (check the paths, data.evalFraction or output.statsRows).',
      );
    }
    const geometry = await dictionaryGeometry(sae);
    const contexts =
      topK && this.withMeta
        ? await collectContexts((this.opts.contextSource ?? source)(), topK.rowIds(), settings.contextTokens)
        : new Map<number, TokenContext>();
    return assemble(this.d, this.m, settings, moments, topK, contexts, geometry, this.opts.resampleHistory);
  }
}

/**
 * One pass over held-out data computes every feature's firing statistics and top-k examples;
 * a second, metadata-only pass (when the data has token metadata) collects the examples' context.
 * Memory: O(m * topK) plus one chunk of [chunkRows, m] activations, never the dataset.
 */
export async function computeFeatureStats(
  sae: SaeTensors | SaeWeights,
  source: () => AsyncIterable<Batch>,
  opts: FeatureStatsOptions,
): Promise<FeatureStats> {
  const owned = isWeights(sae) ? toTensors(sae) : null;
  const t = owned ?? (sae as SaeTensors);
  try {
    const [d, m] = t.W_enc.shape;
    const chunkRows = opts.chunkRows ?? Math.max(1, Math.floor((1 << 21) / m));
    const pass = new FeatureStatsPass(d, m, opts);
    const host = await HostForward.create(t, chunkRows);
    for await (const batch of source()) {
      pass.noteBatch(batch);
      await accumulateBatch(t, batch.x, Math.min(batch.rows, pass.remaining()), batch.rowIds, chunkRows, pass, host);
      opts.onProgress?.(pass.rows);
      if (pass.remaining() <= 0) break;
    }
    return await pass.result(t, source);
  } finally {
    if (owned) tf.dispose([owned.W_enc, owned.b_enc, owned.W_dec, owned.b_dec]);
  }
}

function assemble(
  d: number,
  m: number,
  settings: FeatureStatsSettings,
  moments: FeatureMoments,
  topK: FeatureTopK | null,
  contexts: Map<number, TokenContext>,
  geometry: Awaited<ReturnType<typeof dictionaryGeometry>>,
  history: Map<number, ResampleHistoryEntry> | undefined,
): FeatureStats {
  const rows = moments.rows;
  const frequency = Float32Array.from(moments.count, (c) => c / rows);
  const noContext: TokenContext = { docId: null, pos: null, tokenId: null, token: null, context: [], focus: -1 };
  const resampleCount = new Int32Array(m);
  const lastResampleStep = new Int32Array(m).fill(-1);
  for (const [i, h] of history ?? []) {
    if (i < m) {
      resampleCount[i] = h.count;
      lastResampleStep[i] = h.lastStep;
    }
  }
  return {
    d,
    m,
    rows,
    settings,
    fireCount: Float64Array.from(moments.count),
    frequency,
    log10Density: Float32Array.from(moments.count, (c) => Math.log10(c / rows + 1e-10)),
    meanActivation: Float32Array.from(moments.mean),
    stdActivation: Float32Array.from({ length: m }, (_, j) => moments.std(j)),
    maxActivation: Float32Array.from(moments.max),
    ...geometry,
    resampleCount,
    lastResampleStep,
    dead: Uint8Array.from(moments.count, (c) => (c / rows <= settings.deadThreshold ? 1 : 0)),
    dense: Uint8Array.from(moments.count, (c) => (c / rows > settings.denseThreshold ? 1 : 0)),
    topExamples: Array.from({ length: m }, (_, j) =>
      (topK ? topK.result(j) : []).map((e) => ({ ...(contexts.get(e.rowId) ?? noContext), ...e })),
    ),
  };
}
