import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { DataError, describeError } from '../errors.js';
import type { LlamaTokenizer } from './tokenizer.js';

/** A document as the model sees it: token ids, BOS first when the model uses one. */
export interface TokenDocument {
  docId: number;
  tokens: Int32Array;
}

/** How a text file is cut into documents. */
export type TextSplit = 'lines' | 'paragraphs';

/**
 * Documents of a UTF-8 text file: one per non-empty line (`lines`) or per blank-line-separated
 * paragraph (`paragraphs`, line breaks inside a paragraph kept), tokenised with BOS.
 */
export function readTextDocuments(file: string, tokenizer: LlamaTokenizer, split: TextSplit): TokenDocument[] {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new DataError(`${file}: cannot read the text file (${describeError(err)}).`, 'Check the path passed to --text.');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const line = bytes.subarray(0, bad).toString('latin1').split('\n').length;
    throw new DataError(`${file}: not UTF-8 text: byte ${bad} (line ${line}) is 0x${bytes[bad]?.toString(16).padStart(2, '0')}, which does not start or continue a UTF-8 character.`, 'Convert the file to UTF-8 (e.g. `iconv -f latin1 -t utf-8`).');
  }
  text = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const parts = split === 'lines' ? text.split('\n') : text.split(/\n[ \t]*\n/);
  const docs = parts
    .map((p) => (split === 'lines' ? p : p.replace(/^\n+|\n+$/g, '')))
    .filter((p) => p.trim().length > 0)
    .map((p, docId) => ({ docId, tokens: Int32Array.from(tokenizer.encode(p, { bos: true })) }));
  if (docs.length === 0) throw new DataError(`${file}: holds no text (every ${split === 'lines' ? 'line' : 'paragraph'} is empty).`, 'Pass a file with at least one document.');
  return docs;
}

/** Offset of the byte that starts the first malformed UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len === 0) return i;
    for (let k = 1; k < len; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    i += len;
  }
  return 0;
}

/**
 * Documents of an Arrow file with `token_id`, `doc_id` and `pos` columns (what `sae harvest`
 * writes and the shipped activation files hold): rows of one document are consecutive, pos 0..n-1.
 */
export function readTokenDocuments(file: string, vocabSize: number): TokenDocument[] {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    // A folder of shards (e.g. a harvest): its Arrow files in name order.
    const files = fs.readdirSync(file).filter((f) => /\.(arrow|arrows|feather|ipc)$/.test(f)).sort();
    if (files.length === 0) throw new DataError(`${file}: the folder holds no Arrow file.`, 'Pass an Arrow file with token_id, doc_id and pos columns, or a folder of them.');
    return files.flatMap((f) => readTokenDocuments(path.join(file, f), vocabSize));
  }
  let table;
  try {
    table = tableFromIPC(fs.readFileSync(file));
  } catch (err) {
    throw new DataError(`${file}: cannot read it as an Arrow IPC file (${describeError(err)}).`, 'Pass an Arrow file with token_id, doc_id and pos columns, or a text file with --text.');
  }
  const names = table.schema.fields.map((f) => f.name);
  const col = (name: string): Int32Array => {
    const c = table.getChild(name);
    if (!c) throw new DataError(`${file}: has no '${name}' column (columns: ${names.join(', ')}).`, 'Token input needs token_id, doc_id and pos columns (as `sae harvest` writes them).');
    return Int32Array.from(c.toArray() as ArrayLike<number>);
  };
  const tok = col('token_id');
  const doc = col('doc_id');
  const pos = col('pos');
  const docs: TokenDocument[] = [];
  let start = 0;
  for (let i = 0; i <= tok.length; i++) {
    if (i < tok.length && tok[i]! >= 0 && tok[i]! >= vocabSize) {
      throw new DataError(`${file}: row ${i}: token_id ${tok[i]} is outside the model's vocabulary of ${vocabSize}.`, 'Use token ids made with this model\'s tokenizer.');
    }
    if (i < tok.length && i > start && doc[i] === doc[start]) {
      if (pos[i] !== pos[i - 1]! + 1) throw new DataError(`${file}: row ${i}: pos ${pos[i]} follows pos ${pos[i - 1]} within doc_id ${doc[i]}, expected ${pos[i - 1]! + 1}.`, 'Rows of a document must be consecutive and in order.');
      continue;
    }
    if (i > start) docs.push({ docId: doc[start]!, tokens: tok.slice(start, i) });
    if (i < tok.length && pos[i] !== 0) throw new DataError(`${file}: row ${i}: doc_id ${doc[i]} starts at pos ${pos[i]}, expected 0.`, 'Each document must start at pos 0.');
    start = i;
  }
  if (docs.length === 0) throw new DataError(`${file}: holds no tokens.`, 'Pass a file with at least one document.');
  return docs;
}

/** A stretch of one document the model reads at once; `pos` of its first token is 0. */
export interface TokenWindow {
  docId: number;
  tokens: Int32Array;
}

/**
 * Cut documents into windows of at most `context` tokens. Every window after a document's first
 * starts again with BOS (when `bos` >= 0), as SAELens' token batches do.
 */
export function* windows(docs: Iterable<TokenDocument>, context: number, bos: number): Generator<TokenWindow> {
  for (const d of docs) {
    const t = d.tokens;
    let at = Math.min(context, t.length);
    yield { docId: d.docId, tokens: t.subarray(0, at) };
    const body = bos >= 0 ? context - 1 : context;
    while (at < t.length) {
      const end = Math.min(t.length, at + body);
      const w = new Int32Array(end - at + (bos >= 0 ? 1 : 0));
      if (bos >= 0) w[0] = bos;
      w.set(t.subarray(at, end), bos >= 0 ? 1 : 0);
      yield { docId: d.docId, tokens: w };
      at = end;
    }
  }
}
