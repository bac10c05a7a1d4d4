/**
 * sae.l1 'auto' = AUTO_L1_PER_NORM x E||x|| (training units). The loss adds ||x - x_hat||^2,
 * which grows as ||x||^2, to lambda x sum f, which grows as ||x||: a lambda proportional to the
 * activation norm gives the same sparsity whatever the scale of the dump. 0.15 is measured on the
 * quickstart fixture (norm 6.88): lambda 1 there gives L0 ~35 of d = 64 at 8x, explained variance
 * ~0.85 (README, Results); a fixed default (it was 0.005) gave L0 172 > d.
 */
export const AUTO_L1_PER_NORM = 0.15;

/** The resolved coefficient, rounded to 3 significant digits so config.json reads well. */
export function autoL1(meanNorm: number): number {
  return Number((AUTO_L1_PER_NORM * meanNorm).toPrecision(3));
}
