import type { Config } from '../config/schema.js';
import type { SparsityPenalty } from './gradients.js';

/** A recipe's name, as the config spells it (`sae.recipe`). */
export type RecipeName = Config['sae']['recipe'];

/**
 * What the optimizer step does to the decoder:
 *   'unit-norm': rows kept on the unit sphere: the gradient projected tangent to it before the
 *                update, the rows renormalised after (Towards Monosemanticity, "Autoencoder" appendix);
 *   'none':      unconstrained (the April update puts the row norms into the sparsity penalty).
 */
export type DecoderConstraint = 'unit-norm' | 'none';

/**
 * A recipe resolved into explicit choices: what the step, the initialisation and run.json see.
 * Inner code reads these fields and never tests the recipe's name.
 */
export interface ResolvedRecipe {
  name: RecipeName;
  sparsityPenalty: SparsityPenalty;
  decoderConstraint: DecoderConstraint;
  /** Clip the global gradient norm to this value (null: no clipping). */
  gradClip: number | null;
  /** L2 norm of the initial decoder rows. */
  decoderInitNorm: number;
}

/** The choices a recipe makes when the config leaves them open. */
type RecipeDefaults = Omit<ResolvedRecipe, 'name'>;

/**
 * One entry per recipe: a new architecture or recipe is a new entry here (plus its penalty or
 * constraint where it brings a new one), not edits across the step formulations.
 */
export const RECIPES: Record<RecipeName, RecipeDefaults> = {
  // Bricken et al. 2023, "Towards Monosemanticity".
  'towards-monosemanticity': { sparsityPenalty: 'l1', decoderConstraint: 'unit-norm', gradClip: null, decoderInitNorm: 1 },
  // Anthropic, "Circuits Updates - April 2024": L1 on f_i ||W_dec_i||, decoder rows initialised at norm 0.1, clipping at 1.
  'april-update': { sparsityPenalty: 'l1-decoder-norm', decoderConstraint: 'none', gradClip: 1, decoderInitNorm: 0.1 },
};

/** The recipe `name` with the explicit overrides a config may set (gradient clip, decoder init norm). */
export function recipeFor(name: RecipeName, overrides: { gradClip?: number | undefined; decoderInitNorm?: number | undefined } = {}): ResolvedRecipe {
  const r = RECIPES[name];
  return {
    name,
    ...r,
    gradClip: overrides.gradClip ?? r.gradClip,
    decoderInitNorm: overrides.decoderInitNorm ?? r.decoderInitNorm,
  };
}

/** The config's recipe, resolved once: `sae.recipe` with `train.gradClip` and `sae.decoderInitNorm`. */
export function resolveRecipe(cfg: Pick<Config, 'sae' | 'train'>): ResolvedRecipe {
  return recipeFor(cfg.sae.recipe, { gradClip: cfg.train.gradClip, decoderInitNorm: cfg.sae.decoderInitNorm });
}
