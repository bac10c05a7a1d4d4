/**
 * Downstream metrics of a dictionary: what splicing its reconstruction into the model costs the
 * next-token prediction. Pure functions of the averaged per-token quantities.
 */

/** Mean per-token quantities over the evaluated positions. */
export interface SpliceAverages {
  /** Cross-entropy (nats per token) of the clean model, with the SAE's reconstruction spliced in, and with the hook zero- and mean-ablated. */
  ceClean: number;
  ceSae: number;
  ceZero: number;
  ceMean: number;
  /** KL(clean || variant) per token, nats. */
  klSae: number;
  klZero: number;
  klMean: number;
}

export interface DownstreamScores {
  /** SAELens ce_loss_score = dictionary_learning frac_recovered: (CE_zero - CE_sae) / (CE_zero - CE_clean). */
  ceLossScore: number | null;
  /** The same with mean ablation as the baseline. */
  ceLossScoreMean: number | null;
  /** CE_sae - CE_clean ("delta LM loss" of the TopK and JumpReLU papers). */
  deltaCe: number;
  /** SAELens kl_div_score: (KL_zero - KL_sae) / KL_zero. */
  klDivScore: number | null;
  /** Why a score is null (its denominator is zero: ablating the hook does not change the model). */
  notes: string[];
}

const TINY = 1e-9;

export function downstreamScores(a: SpliceAverages): DownstreamScores {
  const notes: string[] = [];
  const ratio = (num: number, den: number, what: string): number | null => {
    if (Math.abs(den) < TINY) {
      notes.push(`${what} is undefined: its denominator is ${den.toExponential(2)} (ablating the hook barely changes the model's predictions on these tokens).`);
      return null;
    }
    return num / den;
  };
  return {
    ceLossScore: ratio(a.ceZero - a.ceSae, a.ceZero - a.ceClean, 'ceLossScore'),
    ceLossScoreMean: ratio(a.ceMean - a.ceSae, a.ceMean - a.ceClean, 'ceLossScoreMean'),
    deltaCe: a.ceSae - a.ceClean,
    klDivScore: ratio(a.klZero - a.klSae, a.klZero, 'klDivScore'),
    notes,
  };
}
