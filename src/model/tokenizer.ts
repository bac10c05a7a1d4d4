import { ModelError } from '../errors.js';
import type { GgufHeader } from './gguf/reader.js';

/** llama.cpp's token types (llama-vocab.h). */
const TOKEN_TYPE_BYTE = 6;
const SPACE = '\u2581'; // sentencepiece's word-boundary marker

/**
 * The GGUF's own sentencepiece tokenizer (`tokenizer.ggml.model` = llama), encoding as llama.cpp's
 * llm_tokenizer_spm does: the text (with a space prefix, spaces as U+2581) starts as one symbol per
 * character; the adjacent pair whose concatenation is the highest-scoring vocabulary piece merges
 * first (ties: leftmost); symbols that are not pieces fall back to their UTF-8 bytes (<0xNN>).
 */
export class LlamaTokenizer {
  readonly bos: number;
  readonly eos: number;
  readonly addBos: boolean;
  readonly addSpacePrefix: boolean;
  private readonly ids = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** For decoding: the byte a byte-token stands for, or -1. */
  private readonly tokenByte: Int16Array;

  constructor(
    readonly pieces: string[],
    readonly scores: Float32Array,
    tokenTypes: Int32Array,
    options: { bos: number; eos: number; addBos: boolean; addSpacePrefix: boolean },
  ) {
    this.bos = options.bos;
    this.eos = options.eos;
    this.addBos = options.addBos;
    this.addSpacePrefix = options.addSpacePrefix;
    this.tokenByte = new Int16Array(pieces.length).fill(-1);
    pieces.forEach((p, id) => {
      if (tokenTypes[id] === TOKEN_TYPE_BYTE) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(p);
        if (m) {
          const b = parseInt(m[1]!, 16);
          this.byteIds[b] = id;
          this.tokenByte[id] = b;
          return;
        }
      }
      if (!this.ids.has(p)) this.ids.set(p, id);
    });
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  /** Token ids of `text`, with BOS first when the model asks for it (`add_bos_token`). */
  encode(text: string, options: { bos?: boolean } = {}): number[] {
    const out: number[] = [];
    if (options.bos ?? this.addBos) out.push(this.bos);
    if (text.length === 0) return out;
    const normalised = (this.addSpacePrefix ? ' ' + text : text).replaceAll(' ', SPACE);
    for (const piece of this.mergeSymbols([...normalised])) this.resegment(piece, out);
    return out;
  }

  /** Text of token ids; byte tokens are joined and decoded as UTF-8, BOS/EOS are dropped. */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    const enc = new TextEncoder();
    for (const id of ids) {
      if (id === this.bos || id === this.eos) continue;
      const b = this.tokenByte[id] ?? -1;
      if (b >= 0) bytes.push(b);
      else for (const x of enc.encode((this.pieces[id] ?? '').replaceAll(SPACE, ' '))) bytes.push(x);
    }
    let text = new TextDecoder().decode(new Uint8Array(bytes));
    if (this.addSpacePrefix && text.startsWith(' ')) text = text.slice(1);
    return text;
  }

  /** The piece of one token as text shown to a person (space marker as a space). */
  piece(id: number): string {
    return (this.pieces[id] ?? '').replaceAll(SPACE, ' ');
  }

  private mergeSymbols(chars: string[]): string[] {
    // A doubly linked list of symbols; merges are popped from a max-heap of candidate pairs.
    const text = chars.slice();
    const prev = chars.map((_, i) => i - 1);
    const next = chars.map((_, i) => (i + 1 < chars.length ? i + 1 : -1));
    const heap = new PairHeap();
    const tryPair = (l: number, r: number): void => {
      if (l < 0 || r < 0) return;
      const id = this.ids.get(text[l]! + text[r]!);
      if (id === undefined) return;
      heap.push({ score: this.scores[id]!, left: l, right: r, size: text[l]!.length + text[r]!.length });
    };
    for (let i = 1; i < chars.length; i++) tryPair(i - 1, i);
    for (let p = heap.pop(); p; p = heap.pop()) {
      const l = p.left;
      const r = p.right;
      // Stale: one side already merged away or grew since the pair was queued.
      if (text[l]!.length === 0 || text[r]!.length === 0 || text[l]!.length + text[r]!.length !== p.size || next[l] !== r) continue;
      text[l] = text[l]! + text[r]!;
      text[r] = '';
      next[l] = next[r]!;
      if (next[r]! >= 0) prev[next[r]!] = l;
      tryPair(prev[l]!, l);
      tryPair(l, next[l]!);
    }
    return text.filter((s) => s.length > 0);
  }

  private resegment(symbol: string, out: number[]): void {
    const id = this.ids.get(symbol);
    if (id !== undefined) {
      out.push(id);
      return;
    }
    for (const b of new TextEncoder().encode(symbol)) {
      const bid = this.byteIds[b]!;
      out.push(bid >= 0 ? bid : 0);
    }
  }
}

interface Pair {
  score: number;
  left: number;
  right: number;
  size: number;
}

/** Max-heap on score, ties broken by the leftmost pair (llama.cpp's llm_bigram_spm order). */
class PairHeap {
  private readonly items: Pair[] = [];
  private before(a: Pair, b: Pair): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }
  push(p: Pair): void {
    const h = this.items;
    h.push(p);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }
  pop(): Pair | undefined {
    const h = this.items;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < h.length && this.before(h[l]!, h[best]!)) best = l;
        if (r < h.length && this.before(h[r]!, h[best]!)) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best]!, h[i]!];
        i = best;
      }
    }
    return top;
  }
}

/** Build the tokenizer from GGUF metadata (tokenizer.ggml.*). */
export function tokenizerFromGguf(header: GgufHeader): LlamaTokenizer {
  const md = header.metadata;
  const model = md.get('tokenizer.ggml.model');
  if (model !== 'llama') {
    throw new ModelError(`${header.file}: tokenizer '${String(model ?? '(missing)')}' is not supported.`, "sae reads sentencepiece tokenizers (tokenizer.ggml.model = 'llama').");
  }
  const tokens = md.get('tokenizer.ggml.tokens');
  if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string')) {
    throw new ModelError(`${header.file}: tokenizer.ggml.tokens is missing or not a list of strings.`, 'The GGUF file has no usable vocabulary; convert it again.');
  }
  const rawScores = md.get('tokenizer.ggml.scores');
  const rawTypes = md.get('tokenizer.ggml.token_type');
  const scores = new Float32Array(tokens.length);
  const types = new Int32Array(tokens.length).fill(1);
  if (Array.isArray(rawScores) && rawScores.length === tokens.length) rawScores.forEach((s, i) => (scores[i] = Number(s)));
  if (Array.isArray(rawTypes) && rawTypes.length === tokens.length) rawTypes.forEach((s, i) => (types[i] = Number(s)));
  const id = (key: string, fallback: number): number => {
    const v = md.get(key);
    return typeof v === 'number' && v >= 0 && v < tokens.length ? v : fallback;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const v = md.get(key);
    return typeof v === 'boolean' ? v : fallback;
  };
  return new LlamaTokenizer(tokens as string[], scores, types, {
    bos: id('tokenizer.ggml.bos_token_id', 1),
    eos: id('tokenizer.ggml.eos_token_id', 2),
    addBos: flag('tokenizer.ggml.add_bos_token', true),
    addSpacePrefix: flag('tokenizer.ggml.add_space_prefix', true),
  });
}
