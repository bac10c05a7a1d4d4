/** Where edits apply: every position, the prompt's, or the generated tokens'. */
export const EDIT_POSITIONS = ['all', 'prompt', 'generated'] as const;
export type EditPositions = (typeof EDIT_POSITIONS)[number];
