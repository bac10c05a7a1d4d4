/** The tfjs backends a run may ask for; 'auto' tries the others in this order. The one list: config, CLI flags and help use it. */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** 'auto, tensorflow, wasm or cpu', for messages. */
export function backendChoicesText(sep = ', ', last = ' or '): string {
  return `${BACKEND_CHOICES.slice(0, -1).join(sep)}${last}${BACKEND_CHOICES[BACKEND_CHOICES.length - 1]}`;
}
