import { createHash } from 'node:crypto';
import { InternalError } from '../../errors.js';
import type { AdamSnapshot } from '../../step/adam.js';
import { PARAM_NAMES, paramShape, type ParamName, type SaeWeights } from '../../sae/params.js';
import type { RngState } from '../../util/rng.js';
import { decodeSafetensors, encodeSafetensors, type TensorToWrite } from '../safetensors.js';

/**
 * The contents of one checkpoint directory:
 *   tensors.safetensors  W_enc, b_enc, W_dec, b_dec, adam.m.<name>, adam.v.<name> (F32, training units);
 *                        jumprelu runs also log_threshold [m] and its adam.m/adam.v
 *   state.json           every other field of CheckpointState (+ formatVersion, d, m)
 *   manifest.json        { formatVersion, step, files: { name: { bytes, sha256 } } }, written last
 * A checkpoint is good iff its manifest parses and every listed file has that size and digest.
 */
export const CHECKPOINT_FORMAT_VERSION = 1;

export const CHECKPOINT_FILES = {
  tensors: 'tensors.safetensors',
  state: 'state.json',
  manifest: 'manifest.json',
} as const;

/** Everything needed to continue a run exactly where it stopped. */
export interface CheckpointState {
  /** Optimizer steps completed. */
  step: number;
  tokens: number;
  elapsedSeconds: number;
  /** In training units (inputs multiplied by inputScale). */
  weights: SaeWeights;
  /** Adam's t and moments per parameter. */
  adam: AdamSnapshot;
  inputScale: number;
  /** Every random generator, by name. */
  rng: Record<string, RngState>;
  /**
   * JSON-able states of other components (firing tracker, resample monitor, metrics interval,
   * data position...). Typed arrays, bigints and non-finite numbers survive the round trip
   * exactly; Map/Set/class instances do not (snapshot them as plain data).
   */
  components: Record<string, unknown>;
  /** Digest of the resolved config the run was started with; resume refuses a mismatch. */
  configDigest: string;
}

export interface ManifestEntry {
  bytes: number;
  sha256: string;
}

export interface CheckpointManifest {
  formatVersion: number;
  step: number;
  files: Record<string, ManifestEntry>;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .filter((k) => o[k] !== undefined)
          .sort()
          .map((k) => [k, sortKeys(o[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

/** sha256 (hex) of the canonical JSON of a resolved config. */
export function configDigest(config: unknown): string {
  return sha256Hex(canonicalJson(config));
}

type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

const TYPED: Record<string, { from(values: ArrayLike<number | bigint>): TypedArray }> = {
  Float32Array: { from: (v) => Float32Array.from(v as ArrayLike<number>) },
  Float64Array: { from: (v) => Float64Array.from(v as ArrayLike<number>) },
  Int8Array: { from: (v) => Int8Array.from(v as ArrayLike<number>) },
  Int16Array: { from: (v) => Int16Array.from(v as ArrayLike<number>) },
  Int32Array: { from: (v) => Int32Array.from(v as ArrayLike<number>) },
  Uint8Array: { from: (v) => Uint8Array.from(v as ArrayLike<number>) },
  Uint16Array: { from: (v) => Uint16Array.from(v as ArrayLike<number>) },
  Uint32Array: { from: (v) => Uint32Array.from(v as ArrayLike<number>) },
  BigInt64Array: { from: (v) => BigInt64Array.from(v as ArrayLike<bigint>) },
  BigUint64Array: { from: (v) => BigUint64Array.from(v as ArrayLike<bigint>) },
};

// Plain JSON turns NaN into null, -0 into 0 and typed arrays into index-keyed objects; a resumed run must
// see exactly what was saved, so those are tagged on the way out and rebuilt on the way in.
function replacer(key: string, value: unknown): unknown {
  if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) {
    return { $num: Object.is(value, -0) ? '-0' : String(value) };
  }
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const name = Buffer.isBuffer(value) ? 'Uint8Array' : value.constructor.name;
    if (!(name in TYPED)) throw new InternalError(`checkpoint state '${key}': unsupported typed array ${name}`);
    return { $typed: name, values: Array.from(value as unknown as ArrayLike<number>) };
  }
  if (value instanceof Map || value instanceof Set) {
    throw new InternalError(`checkpoint state '${key}' holds a ${value.constructor.name}; snapshot it as plain data`);
  }
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && typeof o.$num === 'string') return Number(o.$num);
  if (keys.length === 1 && typeof o.$bigint === 'string') return BigInt(o.$bigint);
  if (keys.length === 2 && typeof o.$typed === 'string' && Array.isArray(o.values) && o.$typed in TYPED) {
    return TYPED[o.$typed]!.from(o.values as (number | bigint)[]);
  }
  return value;
}

/** state.json: everything but the tensors. */
interface StateFile {
  formatVersion: number;
  step: number;
  tokens: number;
  elapsedSeconds: number;
  d: number;
  m: number;
  inputScale: number;
  adamT: number;
  rng: Record<string, RngState>;
  components: Record<string, unknown>;
  configDigest: string;
}

const adamName = (kind: 'm' | 'v', n: ParamName | 'log_threshold') => `adam.${kind}.${n}`;

/** Serialise a state into the bytes of its checkpoint files (manifest excluded). */
export function encodeCheckpointFiles(state: CheckpointState): Record<string, Uint8Array> {
  const { d, m } = state.weights;
  const tensors: Record<string, TensorToWrite> = {};
  for (const n of PARAM_NAMES) tensors[n] = { dtype: 'F32', shape: paramShape(n, d, m), data: state.weights[n] };
  for (const kind of ['m', 'v'] as const) {
    for (const n of PARAM_NAMES) tensors[adamName(kind, n)] = { dtype: 'F32', shape: paramShape(n, d, m), data: state.adam[kind][n] };
  }
  const lt = state.weights.log_threshold;
  if (lt) {
    tensors.log_threshold = { dtype: 'F32', shape: [m], data: lt };
    for (const kind of ['m', 'v'] as const) {
      const moments = state.adam[kind].log_threshold;
      if (!moments) throw new InternalError('checkpoint: log_threshold without its Adam moments');
      tensors[adamName(kind, 'log_threshold')] = { dtype: 'F32', shape: [m], data: moments };
    }
  }
  const file: StateFile = {
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    step: state.step,
    tokens: state.tokens,
    elapsedSeconds: state.elapsedSeconds,
    d,
    m,
    inputScale: state.inputScale,
    adamT: state.adam.t,
    rng: state.rng,
    components: state.components,
    configDigest: state.configDigest,
  };
  return {
    [CHECKPOINT_FILES.tensors]: encodeSafetensors(tensors, { format: 'sae-checkpoint', formatVersion: String(CHECKPOINT_FORMAT_VERSION) }),
    [CHECKPOINT_FILES.state]: Buffer.from(JSON.stringify(file, replacer) + '\n', 'utf8'),
  };
}

/**
 * Rebuild a state from verified checkpoint files. Throws an Error with a short reason if the
 * files do not describe a checkpoint this version can read (the caller treats it as corrupt).
 */
export function decodeCheckpointFiles(files: { tensors: Uint8Array; state: Uint8Array }, source: string): CheckpointState {
  let s: StateFile;
  try {
    s = JSON.parse(Buffer.from(files.state).toString('utf8'), reviver) as StateFile;
  } catch (err) {
    throw new Error(`${CHECKPOINT_FILES.state}: not valid JSON (${(err as Error).message})`);
  }
  if (s === null || typeof s !== 'object') throw new Error(`${CHECKPOINT_FILES.state}: not an object`);
  if (s.formatVersion !== CHECKPOINT_FORMAT_VERSION) {
    throw new Error(`${CHECKPOINT_FILES.state}: format version ${String(s.formatVersion)}, this version reads ${CHECKPOINT_FORMAT_VERSION}`);
  }
  for (const k of ['step', 'tokens', 'elapsedSeconds', 'd', 'm', 'inputScale', 'adamT'] as const) {
    if (typeof s[k] !== 'number') throw new Error(`${CHECKPOINT_FILES.state}: '${k}' is missing or not a number`);
  }
  if (typeof s.configDigest !== 'string' || typeof s.rng !== 'object' || typeof s.components !== 'object') {
    throw new Error(`${CHECKPOINT_FILES.state}: 'configDigest', 'rng' or 'components' is missing`);
  }
  const content = decodeSafetensors(files.tensors, `${source}/${CHECKPOINT_FILES.tensors}`);
  const { d, m } = s;
  const get = (name: string, n: ParamName | 'log_threshold'): Float32Array => {
    const t = content.tensors[name];
    const shape = n === 'log_threshold' ? [m] : paramShape(n, d, m);
    if (!t || t.dtype !== 'F32' || t.shape.length !== shape.length || t.shape.some((x, i) => x !== shape[i])) {
      throw new Error(`${CHECKPOINT_FILES.tensors}: tensor '${name}' is missing or not F32 [${shape.join(', ')}]`);
    }
    return t.data as Float32Array;
  };
  const weights = { d, m } as SaeWeights;
  const adam: AdamSnapshot = { t: s.adamT, m: {} as AdamSnapshot['m'], v: {} as AdamSnapshot['v'] };
  for (const n of PARAM_NAMES) {
    weights[n] = get(n, n);
    adam.m[n] = get(adamName('m', n), n);
    adam.v[n] = get(adamName('v', n), n);
  }
  if (content.tensors.log_threshold) {
    weights.log_threshold = get('log_threshold', 'log_threshold');
    adam.m.log_threshold = get(adamName('m', 'log_threshold'), 'log_threshold');
    adam.v.log_threshold = get(adamName('v', 'log_threshold'), 'log_threshold');
  }
  return {
    step: s.step,
    tokens: s.tokens,
    elapsedSeconds: s.elapsedSeconds,
    weights,
    adam,
    inputScale: s.inputScale,
    rng: s.rng,
    components: s.components,
    configDigest: s.configDigest,
  };
}

/** Manifest of already encoded files. */
export function buildManifest(step: number, files: Record<string, Uint8Array>): CheckpointManifest {
  const entries = Object.entries(files).map(([name, bytes]) => [name, { bytes: bytes.length, sha256: sha256Hex(bytes) }] as const);
  return { formatVersion: CHECKPOINT_FORMAT_VERSION, step, files: Object.fromEntries(entries) };
}

/** Parse manifest.json; an Error with a short reason if it is not one. */
export function parseManifest(text: string): CheckpointManifest {
  let v: Partial<CheckpointManifest>;
  try {
    v = JSON.parse(text) as Partial<CheckpointManifest>;
  } catch {
    throw new Error(`${CHECKPOINT_FILES.manifest}: not valid JSON`);
  }
  const files = v?.files;
  if (typeof v?.step !== 'number' || typeof v.formatVersion !== 'number' || files === null || typeof files !== 'object') {
    throw new Error(`${CHECKPOINT_FILES.manifest}: missing step, formatVersion or files`);
  }
  for (const name of [CHECKPOINT_FILES.tensors, CHECKPOINT_FILES.state]) {
    const e = files[name];
    if (!e || typeof e.bytes !== 'number' || typeof e.sha256 !== 'string') {
      throw new Error(`${CHECKPOINT_FILES.manifest}: no size and checksum for ${name}`);
    }
  }
  return v as CheckpointManifest;
}
