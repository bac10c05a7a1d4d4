import type * as tf from '../backend/tfjs.js';
import { ModelError } from '../errors.js';

/** Hook points per block, named as in TransformerLens / SAELens. */
export const HOOK_KINDS = ['resid_pre', 'attn_out', 'mlp_out', 'resid_post'] as const;
export type HookKind = (typeof HOOK_KINDS)[number];

export interface HookPoint {
  /** `blocks.L.hook_KIND` */
  name: string;
  layer: number;
  kind: HookKind;
}

/**
 * A hook sees the activation `[batch, seq, dModel]` at its point in the forward pass. It may read
 * it (keep a copy with `tf.keep`, the forward pass runs inside `tf.tidy`) and may return a
 * replacement of the same shape, which the rest of the forward pass then uses. Returning nothing
 * leaves the activation as it is. Hooks run synchronously, so they work under `tf.grad`.
 */
export type HookFn = (activation: tf.Tensor3D, point: HookPoint) => tf.Tensor3D | void;

export type Hooks = Readonly<Record<string, HookFn>>;

/** The order of hook points within a block, for "run up to this hook" decisions. */
export function hookOrder(p: HookPoint): number {
  return p.layer * HOOK_KINDS.length + HOOK_KINDS.indexOf(p.kind);
}

/** Parse and check a hook name against a model with `nLayers` blocks. */
export function parseHook(name: string, nLayers: number): HookPoint {
  const m = /^blocks\.(\d+)\.hook_(resid_pre|attn_out|mlp_out|resid_post)$/.exec(name);
  if (!m) {
    throw new ModelError(`hook '${name}' is not a hook point of this model.`, `Use blocks.L.hook_KIND with KIND one of ${HOOK_KINDS.join(', ')} (e.g. blocks.2.hook_resid_post).`);
  }
  const layer = Number(m[1]);
  if (layer >= nLayers) {
    throw new ModelError(`hook '${name}': the model has ${nLayers} blocks (0 to ${nLayers - 1}), there is no block ${layer}.`, `Choose a layer between 0 and ${nLayers - 1}.`);
  }
  return { name, layer, kind: m[2] as HookKind };
}
