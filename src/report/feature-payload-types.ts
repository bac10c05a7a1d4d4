/**
 * The shape of the feature data a run page embeds, shared by the writer (feature-payload.ts) and
 * the browser script (client/report-client.ts, which imports only these types).
 */

/** Per-feature columns the page carries. */
export type FeatureColumn =
  | 'fireCount'
  | 'frequency'
  | 'log10Density'
  | 'meanActivation'
  | 'stdActivation'
  | 'maxActivation'
  | 'decoderNorm'
  | 'encoderNorm'
  | 'encoderDecoderCos'
  | 'nearestIndex'
  | 'nearestCos'
  | 'resampleCount'
  | 'lastResampleStep'
  | 'dead'
  | 'dense';

/**
 * The feature statistics as the page embeds them: column arrays (numbers rounded to 4 significant
 * digits, "none" as null) and the top examples as flat number arrays whose token strings are
 * indices into one string table (a context repeats a small vocabulary, so this is where the size
 * goes down). One example: activation, rowId, docId, pos, token, focus, n, then n context tokens
 * (docId/pos/token -1 when absent; focus -1 without token metadata).
 */
export interface FeaturePayload {
  m: number;
  rows: number;
  topK: number;
  contextTokens: number;
  /** Examples kept per feature in the page (at most topK). */
  examplesPerFeature: number;
  strings: string[];
  cols: Record<FeatureColumn, (number | null)[]>;
  examples: number[][];
}

/** The `report-data` JSON island of a run page. */
export interface RunPageData {
  kind: 'run';
  features: FeaturePayload | null;
}
