import type { LlamaConfig } from '../config.js';
import type { HookKind } from '../hooks.js';
import type { PackedWeights } from './packed-weights.js';

/**
 * A forward worker's first message: the model's shape and its packed weights, which it copies
 * into its kernel memory and lets go (a message, not workerData, so the shared buffer is freed).
 */
export interface InitRequest {
  kind: 'init';
  config: LlamaConfig;
  weights: PackedWeights;
}

/** Run the core pass over a part of a batch and send back the activations at `hooks`. */
export interface ReadRequest {
  kind: 'read';
  /** Token ids [batch, seq], right-padded. */
  ids: Int32Array;
  batch: number;
  seq: number;
  lengths: number[];
  hooks: { layer: number; kind: HookKind }[];
  /** hookOrder of the deepest hook: the pass stops there. */
  stop: number;
}

/** A spliced evaluation of a part of a batch (splice.ts): variants and targets are its packed rows. */
export interface SpliceRequest {
  kind: 'splice';
  ids: Int32Array;
  batch: number;
  seq: number;
  lengths: number[];
  hook: { layer: number; kind: HookKind };
  variants: Float32Array[];
  targets: Int32Array;
}

export type ForwardReply =
  | { kind: 'ready' }
  /** Per hook, in request order: the packed rows [sum of lengths, dModel]. */
  | { kind: 'acts'; acts: Float32Array[] }
  | { kind: 'scores'; ce: Float64Array[]; kl: Float64Array[] }
  | { kind: 'error'; message: string; stack?: string };
