/** The orders `sae features` can list the features in. */
export const FEATURE_SORT_KEYS = ['index', 'frequency', 'density', 'max', 'mean', 'std', 'cos', 'resampled'] as const;
export type FeatureSortKey = (typeof FEATURE_SORT_KEYS)[number];
