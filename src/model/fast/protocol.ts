import type { LlamaConfig } from '../config.js';
import type { HookKind } from '../hooks.js';
import type { PackedWeights } from './packed-weights.js';

/** What a forward worker starts with (workerData): the model's shape and its packed weights. */
export interface ForwardWorkerData {
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

export type ForwardReply =
  | { kind: 'ready' }
  /** Per hook, in request order: the packed rows [sum of lengths, dModel]. */
  | { kind: 'acts'; acts: Float32Array[] }
  | { kind: 'error'; message: string; stack?: string };
