import { ConfigError } from '../errors.js';
import type { LlamaTokenizer } from '../model/tokenizer.js';

/**
 * The token id whose text is exactly `target` (a leading space is the word-boundary marker, so
 * " Lily" is the piece "▁Lily"). ConfigError when no single token reads so, saying how it tokenizes.
 */
export function targetToken(tokenizer: LlamaTokenizer, target: string): number {
  if (target.length === 0) throw new ConfigError('--target is empty.', 'Give the next token as text, with its leading space when it starts a word (e.g. --target " Lily").');
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    if (id !== tokenizer.bos && id !== tokenizer.eos && tokenizer.piece(id) === target) return id;
  }
  // encode() adds the space prefix itself: give it the text without its first space.
  const text = tokenizer.addSpacePrefix && target.startsWith(' ') ? target.slice(1) : target;
  const ids = tokenizer.encode(text, { bos: false });
  const shown = ids.map((id) => JSON.stringify(tokenizer.piece(id))).join(' ');
  const first = ids.length > 0 ? tokenizer.piece(ids[0]!) : '';
  throw new ConfigError(
    `--target ${JSON.stringify(target)} is not a single token of this model: it tokenizes as ${ids.length} tokens, ${shown}.`,
    `Attribution scores one next token; give one piece, e.g. --target ${JSON.stringify(first)}${tokenizer.addSpacePrefix && !target.startsWith(' ') ? ' (a word after a space starts with a space)' : ''}.`,
  );
}
