import type { Batch, RowMeta } from '../data/types.js';

/**
 * Token context of selected rows, collected in one pass over a source in file order with memory
 * bounded by the selected rows (never the dataset): a ring of the last `contextTokens` rows gives the
 * left side, open collectors take the right side from the rows that follow.
 *
 * Two consecutive rows belong to one running text iff their doc ids agree (when the column exists)
 * and the second's position is the first's + 1 (when the column exists). The position test keeps
 * windows honest when the source is a subset of a dump (e.g. rows held out by hash).
 */

/** Metadata of one row and the tokens around it. */
export interface TokenContext {
  docId: number | null;
  pos: number | null;
  tokenId: number | null;
  token: string | null;
  /** Up to contextTokens tokens on each side plus the row's own token; empty without token metadata. */
  context: string[];
  /** Index of the row's own token in `context` (-1 when there is no context). */
  focus: number;
}

interface RowView {
  docId: number | null;
  pos: number | null;
  text: string | null;
}

/** The row's token as text: the token column if present, else `#<token_id>`, else null. */
function tokenText(meta: RowMeta, i: number): string | null {
  if (meta.token) return meta.token[i] ?? '';
  if (meta.tokenId) return `#${meta.tokenId[i]}`;
  return null;
}

function viewOf(meta: RowMeta, i: number): RowView {
  return {
    docId: meta.docId ? meta.docId[i]! : null,
    pos: meta.pos ? meta.pos[i]! : null,
    text: tokenText(meta, i),
  };
}

/** Whether row b directly follows row a in the same document. */
export function continuesDocument(a: RowView, b: RowView): boolean {
  if (a.docId !== null && b.docId !== null && a.docId !== b.docId) return false;
  if (a.pos !== null && b.pos !== null && b.pos !== a.pos + 1) return false;
  return true;
}

/** Whether a batch carries any per-row metadata worth a context pass. */
export function hasRowMeta(meta: RowMeta): boolean {
  return Boolean(meta.token || meta.tokenId || meta.docId || meta.pos);
}

/**
 * Collect metadata and +-contextTokens of context for each wanted row id.
 * rowIds: any order, duplicates allowed. Rows never seen in the source are absent from the result.
 */
export async function collectContexts(
  source: AsyncIterable<Batch>,
  rowIds: ArrayLike<number>,
  contextTokens: number,
): Promise<Map<number, TokenContext>> {
  const wanted = new Set<number>(Array.from(rowIds));
  const found = new Map<number, TokenContext>();
  if (wanted.size === 0) return found;
  const ring: RowView[] = [];
  let open: { ctx: TokenContext; remaining: number }[] = [];
  let prev: RowView | null = null;

  for await (const batch of source) {
    for (let i = 0; i < batch.rows; i++) {
      const cur = viewOf(batch.meta, i);
      if (prev !== null && !continuesDocument(prev, cur)) {
        ring.length = 0;
        open = [];
      }
      if (open.length > 0 && cur.text !== null) {
        for (const o of open) {
          o.ctx.context.push(cur.text);
          o.remaining--;
        }
        open = open.filter((o) => o.remaining > 0);
      }
      const rowId = batch.rowIds[i]!;
      if (wanted.has(rowId)) {
        const ctx: TokenContext = {
          docId: cur.docId,
          pos: cur.pos,
          tokenId: batch.meta.tokenId ? batch.meta.tokenId[i]! : null,
          token: batch.meta.token ? (batch.meta.token[i] ?? '') : null,
          context: [],
          focus: -1,
        };
        if (cur.text !== null) {
          for (const r of ring) if (r.text !== null) ctx.context.push(r.text);
          ctx.focus = ctx.context.length;
          ctx.context.push(cur.text);
          if (contextTokens > 0) open.push({ ctx, remaining: contextTokens });
        }
        found.set(rowId, ctx);
        wanted.delete(rowId);
      }
      if (contextTokens > 0) {
        ring.push(cur);
        if (ring.length > contextTokens) ring.shift();
      }
      prev = cur;
    }
    if (wanted.size === 0 && open.length === 0) break;
  }
  return found;
}
