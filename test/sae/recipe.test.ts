import { describe, expect, it } from 'vitest';
import { RECIPES, recipeFor, resolveRecipe } from '../../src/sae/recipe.js';
import { buildConfig } from '../helpers/config.js';

describe('resolveRecipe', () => {
  it('turns each recipe name into explicit choices', () => {
    expect(resolveRecipe(buildConfig({ sae: { recipe: 'towards-monosemanticity' } }))).toEqual({
      name: 'towards-monosemanticity',
      sparsityPenalty: 'l1',
      decoderConstraint: 'unit-norm',
      gradClip: null,
      decoderInitNorm: 1,
    });
    expect(resolveRecipe(buildConfig({ sae: { recipe: 'april-update' } }))).toEqual({
      name: 'april-update',
      sparsityPenalty: 'l1-decoder-norm',
      decoderConstraint: 'none',
      gradClip: 1,
      decoderInitNorm: 0.1,
    });
  });

  it('lets the config override the clip and the decoder init norm', () => {
    const r = resolveRecipe(buildConfig({ sae: { recipe: 'april-update', decoderInitNorm: 0.5 }, train: { gradClip: 3 } }));
    expect(r.gradClip).toBe(3);
    expect(r.decoderInitNorm).toBe(0.5);
    expect(recipeFor('towards-monosemanticity', { gradClip: 2 }).gradClip).toBe(2);
  });

  it('has an entry for every recipe the config accepts', () => {
    expect(Object.keys(RECIPES).sort()).toEqual(['april-update', 'towards-monosemanticity']);
  });
});
