/**
 * The feature browser of a run report, run in the reader's browser (inlined into the page).
 * The table is rendered once as one HTML string, one row per feature, as CSS-grid rows rather
 * than <table> rows so that rows off screen can skip layout (content-visibility; a 16k-row
 * <table> took 12 s to lay out); sorting reorders the existing rows, filtering hides them, and a
 * feature's card is built only when it is opened. Data text is escaped (esc) or set through textContent, never
 * parsed as markup.
 */
import type { FeatureColumn, FeaturePayload, RunPageData } from '../feature-payload-types.js';

const EXAMPLE_HEADER = 7;

type SortKey = FeatureColumn | 'index';

interface Column {
  key: SortKey;
  label: string;
  title: string;
  width: number;
  cell: (i: number) => string;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}

interface Example {
  activation: number;
  rowId: number;
  docId: number;
  pos: number;
  token: string | null;
  focus: number;
  context: string[];
}

function decodeExamples(p: FeaturePayload, i: number): Example[] {
  const flat = p.examples[i] ?? [];
  const out: Example[] = [];
  let k = 0;
  while (k + EXAMPLE_HEADER <= flat.length) {
    const n = flat[k + 6]!;
    const tok = flat[k + 4]!;
    out.push({
      activation: flat[k]!,
      rowId: flat[k + 1]!,
      docId: flat[k + 2]!,
      pos: flat[k + 3]!,
      token: tok >= 0 ? (p.strings[tok] ?? null) : null,
      focus: flat[k + 5]!,
      context: flat.slice(k + EXAMPLE_HEADER, k + EXAMPLE_HEADER + n).map((s) => p.strings[s] ?? ''),
    });
    k += EXAMPLE_HEADER + n;
  }
  return out;
}

/** The distinct activating tokens of a feature's examples, best first. */
function topTokens(p: FeaturePayload, i: number, limit: number): string[] {
  const seen: string[] = [];
  for (const e of decodeExamples(p, i)) {
    const t = e.token ?? (e.focus >= 0 ? e.context[e.focus] : undefined);
    if (t !== undefined && t !== null && !seen.includes(t)) seen.push(t);
    if (seen.length >= limit) break;
  }
  return seen;
}

function start(p: FeaturePayload): void {
  const c = p.cols;
  const tokens = Array.from({ length: p.m }, (_, i) => topTokens(p, i, 4));
  const tokenText = tokens.map((t) => t.join(' ').toLowerCase());
  // Features whose nearest decoder direction is i (the reverse links of nearestIndex).
  const nearestOf: number[][] = Array.from({ length: p.m }, () => []);
  c.nearestIndex.forEach((j, i) => {
    if (j !== null && j >= 0 && j < p.m) nearestOf[j]!.push(i);
  });

  const num = (key: FeatureColumn, digits = 3) => (i: number) => fmt(c[key][i], digits);
  const columns: Column[] = [
    { key: 'index', label: '#', title: 'feature index', width: 52, cell: (i) => String(i) },
    { key: 'frequency', label: 'freq', title: 'firing frequency on the held-out rows', width: 64, cell: num('frequency') },
    { key: 'log10Density', label: 'log10 d', title: 'log10 density', width: 60, cell: num('log10Density') },
    { key: 'meanActivation', label: 'mean', title: 'mean activation when firing', width: 56, cell: num('meanActivation') },
    { key: 'maxActivation', label: 'max', title: 'max activation', width: 56, cell: num('maxActivation') },
    { key: 'decoderNorm', label: '|dec|', title: 'decoder norm', width: 52, cell: num('decoderNorm') },
    { key: 'encoderNorm', label: '|enc|', title: 'encoder norm', width: 52, cell: num('encoderNorm') },
    { key: 'encoderDecoderCos', label: 'cos e,d', title: 'cosine between encoder and decoder directions', width: 56, cell: num('encoderDecoderCos') },
    {
      key: 'nearestCos',
      label: 'nearest',
      title: 'nearest other decoder direction (cosine)',
      width: 84,
      cell: (i) => (c.nearestIndex[i] === null ? '–' : `${c.nearestIndex[i]} (${fmt(c.nearestCos[i], 2)})`),
    },
    { key: 'resampleCount', label: 'resamp.', title: 'times resampled during training', width: 54, cell: num('resampleCount') },
    { key: 'dead', label: 'flags', title: 'dead / dense', width: 50, cell: (i) => (c.dead[i] ? 'dead' : c.dense[i] ? 'dense' : '') },
  ];

  const table = document.getElementById('feature-table')!;
  table.style.setProperty('--cols', `${columns.map((col) => `${col.width}px`).join(' ')} minmax(120px, 1fr)`);
  const headRow = table.querySelector('.head') as HTMLElement;
  headRow.innerHTML =
    columns.map((col) => `<span role="columnheader" data-key="${col.key}" title="${esc(col.title)}">${esc(col.label)}</span>`).join('') +
    '<span role="columnheader" class="tok" data-key="tokens" title="activating tokens of the top examples">top tokens</span>';
  const body = table.querySelector('.rows') as HTMLElement;
  const html: string[] = new Array(p.m);
  for (let i = 0; i < p.m; i++) {
    const cls = c.dead[i] ? ' dead' : c.dense[i] ? ' dense' : '';
    let row = `<div class="row${cls}" role="row" data-i="${i}">`;
    for (const col of columns) row += `<span role="cell">${col.cell(i)}</span>`;
    row += `<span role="cell" class="tok">${esc(tokens[i]!.map((t) => JSON.stringify(t)).join(' '))}</span></div>`;
    html[i] = row;
  }
  body.innerHTML = html.join('');
  const rows = Array.from(body.children) as HTMLElement[];

  // Sorting: reorder the existing rows; numbers largest first on the first click (index ascending).
  let sortKey: SortKey = 'index';
  let descending = false;
  const valueOf = (key: SortKey, i: number): number => (key === 'index' ? i : (c[key][i] ?? -Infinity));
  const sortBy = (key: SortKey) => {
    descending = key === sortKey ? !descending : key !== 'index';
    sortKey = key;
    const order = Array.from({ length: p.m }, (_, i) => i);
    const sign = descending ? -1 : 1;
    order.sort((a, b) => sign * (valueOf(key, a) - valueOf(key, b)) || a - b);
    const frag = document.createDocumentFragment();
    for (const i of order) frag.appendChild(rows[i]!);
    body.appendChild(frag);
    for (const th of Array.from(headRow.children) as HTMLElement[]) {
      if (th.dataset['key'] === key) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    }
  };
  headRow.addEventListener('click', (ev) => {
    const th = (ev.target as HTMLElement).closest('[role=columnheader]') as HTMLElement | null;
    const key = th?.dataset['key'];
    if (key && key !== 'tokens') sortBy(key as SortKey);
  });

  // Filtering: by index (a number) or a substring of the activating tokens, and by flags.
  const filterInput = document.getElementById('filter') as HTMLInputElement;
  const box = (id: string) => document.getElementById(id) as HTMLInputElement;
  const shownCount = document.getElementById('shown-count')!;
  const applyFilter = () => {
    const q = filterInput.value.trim().toLowerCase();
    const isIndex = /^\d+$/.test(q);
    const hideDead = box('hide-dead').checked;
    const onlyDense = box('only-dense').checked;
    const onlyResampled = box('only-resampled').checked;
    let shown = 0;
    for (let i = 0; i < p.m; i++) {
      const ok =
        (q === '' || (isIndex ? String(i) === q : false) || tokenText[i]!.includes(q)) &&
        !(hideDead && c.dead[i]) &&
        !(onlyDense && !c.dense[i]) &&
        !(onlyResampled && !c.resampleCount[i]);
      rows[i]!.hidden = !ok;
      if (ok) shown++;
    }
    shownCount.textContent = `${shown} of ${p.m} shown`;
  };
  filterInput.addEventListener('input', applyFilter);
  for (const id of ['hide-dead', 'only-dense', 'only-resampled']) box(id).addEventListener('change', applyFilter);
  shownCount.textContent = `${p.m} of ${p.m} shown`;

  // The card of one feature, built when opened.
  const card = document.getElementById('card')!;
  let selected: HTMLElement | null = null;
  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };
  const featureLink = (j: number, suffix = '') => {
    const b = el('button', `#${j}${suffix}`, 'link');
    b.type = 'button';
    b.dataset['feature'] = String(j);
    return b;
  };
  const openCard = (i: number) => {
    if (!(i >= 0 && i < p.m)) return;
    selected?.classList.remove('selected');
    selected = rows[i]!;
    selected.classList.add('selected');
    card.replaceChildren();
    card.dataset['feature'] = String(i);
    const flags = [c.dead[i] ? 'dead' : '', c.dense[i] ? 'dense' : ''].filter(Boolean).join(', ');
    card.append(el('h3', `Feature ${i}${flags ? ` (${flags})` : ''}`));
    const stats = el('dl');
    stats.className = 'kv';
    const stat = (k: string, v: string) => stats.append(el('dt', k), el('dd', v));
    stat('fires on', `${fmt((c.frequency[i] ?? 0) * 100, 3)}% of rows (${c.fireCount[i]} of ${p.rows})`);
    stat('log10 density', fmt(c.log10Density[i]));
    stat('activation when firing', `mean ${fmt(c.meanActivation[i])}, std ${fmt(c.stdActivation[i])}, max ${fmt(c.maxActivation[i])}`);
    stat('norms', `decoder ${fmt(c.decoderNorm[i])}, encoder ${fmt(c.encoderNorm[i])}, cos(encoder, decoder) ${fmt(c.encoderDecoderCos[i])}`);
    stat('resampled', c.resampleCount[i] ? `${c.resampleCount[i]} time(s), last at step ${c.lastResampleStep[i]}` : 'never');
    card.append(stats);

    const near = el('p');
    near.className = 'nearest';
    const j = c.nearestIndex[i];
    near.append('nearest decoder direction: ');
    if (j === null || j === undefined) near.append('none');
    else near.append(featureLink(j), ` (cos ${fmt(c.nearestCos[i])})`);
    const back = nearestOf[i]!.filter((k) => k !== j);
    if (back.length) {
      near.append('; also nearest to this one: ');
      back.slice(0, 12).forEach((k, n) => near.append(n ? ', ' : '', featureLink(k, ` (${fmt(c.nearestCos[k], 2)})`)));
      if (back.length > 12) near.append(` and ${back.length - 12} more`);
    }
    card.append(near);

    const examples = decodeExamples(p, i);
    if (examples.length === 0) {
      card.append(el('p', c.fireCount[i] ? 'No top examples stored.' : 'Never fired on the held-out rows: no examples.', 'muted'));
      return;
    }
    card.append(activationHistogram(examples, c.meanActivation[i] ?? null, c.fireCount[i] ?? 0));
    card.append(el('h3', `Top ${examples.length} examples`));
    const t = el('table');
    t.className = 'data examples';
    t.innerHTML = '<thead><tr><th>act.</th><th>row</th><th>doc:pos</th><th class="l">context (hover the marked token for its activation)</th></tr></thead>';
    const tb = el('tbody');
    for (const e of examples) {
      const tr = el('tr');
      const ctx = el('td', undefined, 'l ctx');
      if (e.context.length && e.focus >= 0) {
        e.context.forEach((tok, k) => {
          if (k === e.focus) {
            const mk = el('mark', tok);
            mk.title = `activation ${fmt(e.activation, 4)}`;
            mk.dataset['activation'] = String(e.activation);
            ctx.append(mk);
          } else ctx.append(tok);
        });
      } else ctx.append(e.token !== null ? el('mark', e.token) : el('span', '(no token metadata)', 'muted'));
      tr.append(el('td', fmt(e.activation, 4)), el('td', String(e.rowId)), el('td', e.docId >= 0 ? `${e.docId}:${e.pos}` : '–'), ctx);
      tb.append(tr);
    }
    t.append(tb);
    card.append(t);
  };
  body.addEventListener('click', (ev) => {
    const tr = (ev.target as HTMLElement).closest('.row') as HTMLElement | null;
    if (tr?.dataset['i'] !== undefined) {
      const i = Number(tr.dataset['i']);
      history.replaceState(null, '', `#feature-${i}`);
      openCard(i);
    }
  });
  card.addEventListener('click', (ev) => {
    const b = (ev.target as HTMLElement).closest('button[data-feature]') as HTMLButtonElement | null;
    if (!b) return;
    const i = Number(b.dataset['feature']);
    history.replaceState(null, '', `#feature-${i}`);
    openCard(i);
    rows[i]!.scrollIntoView({ block: 'nearest' });
  });
  const fromHash = /^#feature-(\d+)$/.exec(location.hash);
  if (fromHash) openCard(Number(fromHash[1]));
}

const SVG = 'http://www.w3.org/2000/svg';

/** Bars of the top examples' activations (10 bins from 0 to the largest), the mean marked. */
function activationHistogram(examples: Example[], mean: number | null, fireCount: number): SVGSVGElement {
  const w = 320;
  const h = 120;
  const pad = { l: 30, r: 8, t: 18, b: 20 };
  const max = Math.max(...examples.map((e) => e.activation), 1e-9);
  const bins = 10;
  const counts = new Array<number>(bins).fill(0);
  for (const e of examples) counts[Math.min(bins - 1, Math.floor((e.activation / max) * bins))]!++;
  const top = Math.max(...counts);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('data-chart', 'activation-histogram');
  svg.setAttribute('data-series', '1');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  const add = (tag: string, attrs: Record<string, string | number>, text?: string, parent: Element = svg) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    parent.appendChild(e);
    return e;
  };
  add('text', { class: 'title', x: pad.l, y: 12 }, `top ${examples.length} activations (of ${fireCount} firing rows)`);
  const iw = w - pad.l - pad.r;
  const ih = h - pad.t - pad.b;
  const g = add('g', { class: 'series s0 bars' });
  counts.forEach((n, b) => {
    const bh = (n / top) * ih;
    const r = add('rect', { x: pad.l + (b * iw) / bins + 0.5, y: pad.t + ih - bh, width: iw / bins - 1, height: bh }, undefined, g);
    add('title', {}, `${fmt((b * max) / bins)} to ${fmt(((b + 1) * max) / bins)}: ${n}`, r);
  });
  const axes = add('g', { class: 'axes' });
  add('line', { x1: pad.l, y1: pad.t + ih, x2: w - pad.r, y2: pad.t + ih }, undefined, axes);
  add('text', { x: pad.l, y: h - 5, 'text-anchor': 'start' }, '0', axes);
  add('text', { x: w - pad.r, y: h - 5, 'text-anchor': 'end' }, fmt(max, 4), axes);
  add('text', { x: pad.l - 4, y: pad.t + 4, 'text-anchor': 'end' }, String(top), axes);
  if (mean !== null && mean > 0 && mean <= max) {
    const x = pad.l + (mean / max) * iw;
    const line = add('line', { class: 'marker', x1: x, y1: pad.t, x2: x, y2: pad.t + ih });
    add('title', {}, `mean activation over all firing rows: ${fmt(mean)}`, line);
  }
  return svg;
}

const island = document.getElementById('report-data');
const data = island ? (JSON.parse(island.textContent ?? 'null') as RunPageData | null) : null;
if (data?.features) start(data.features);
document.body.dataset['ready'] = String(Math.round(performance.now()));
