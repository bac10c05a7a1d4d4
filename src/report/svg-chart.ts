import { escapeHtml, formatNumber } from './escape.js';

/**
 * Charts as inline SVG strings, generated here in TypeScript rather than by an inlined library:
 * the page stays readable without JavaScript (and in a file browser's preview), adds no
 * dependency or bundled third-party code to keep current, and the charts are pure functions a
 * unit test can check. What the report draws (lines over steps, bars, one scatter) needs nothing
 * more; interaction lives in the feature browser, not in the charts.
 */

export interface Series {
  name: string;
  /** [x, y] pairs; non-finite y values leave a gap. */
  points: [number, number][];
}

export interface Marker {
  x: number;
  label: string;
}

export interface LineChartSpec {
  /** Stable id (data-chart attribute), e.g. 'loss'. */
  id: string;
  title: string;
  xLabel: string;
  series: Series[];
  /** Vertical dashed lines (resampling events). */
  markers?: Marker[];
  logY?: boolean;
  width?: number;
  height?: number;
}

const PAD = { left: 52, right: 12, top: 22, bottom: 30 };

/** About `count` round tick values inside [min, max] (steps of 1, 2 or 5 times a power of ten). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  // The step closest to the raw one on a log scale (thresholds at the geometric means, as d3 does).
  const step = (r >= Math.sqrt(50) ? 10 : r >= Math.sqrt(10) ? 5 : r >= Math.sqrt(2) ? 2 : 1) * mag;
  const ticks: number[] = [];
  const first = Math.ceil(min / step - 1e-9);
  const last = Math.floor(max / step + 1e-9);
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/**
 * Tick values (in data units) for a log axis spanning 10^lo..10^hi: the powers of ten inside, or
 * 1-2-5 steps when fewer than two powers fall inside.
 */
export function logTicks(lo: number, hi: number): number[] {
  const inside = (v: number) => Math.log10(v) >= lo - 1e-9 && Math.log10(v) <= hi + 1e-9;
  const decades: number[] = [];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) decades.push(k);
  const powers = decades.map((k) => 10 ** k).filter(inside);
  if (powers.length >= 2) return powers;
  return decades.flatMap((k) => [1, 2, 5].map((f) => Number((f * 10 ** k).toPrecision(12)))).filter(inside);
}

interface Frame {
  w: number;
  h: number;
  x: (v: number) => number;
  y: (v: number) => number;
  xTicks: number[];
  yTicks: number[];
}

function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return lo === 0 ? [0, 1] : [lo - Math.abs(lo) * 0.1, hi + Math.abs(hi) * 0.1];
  return [lo, hi];
}

function frame(xs: number[], ys: number[], w: number, h: number, logY: boolean): Frame {
  const [x0, x1] = extent(xs);
  const positive = ys.filter((v) => v > 0);
  const useLog = logY && positive.length > 0;
  const [y0, y1] = useLog ? extent(positive.map(Math.log10)) : extent(ys);
  const iw = w - PAD.left - PAD.right;
  const ih = h - PAD.top - PAD.bottom;
  const x = (v: number) => PAD.left + ((v - x0) / (x1 - x0)) * iw;
  const yLin = (v: number) => PAD.top + ih - ((v - y0) / (y1 - y0)) * ih;
  return {
    w,
    h,
    x,
    y: useLog ? (v: number) => (v > 0 ? yLin(Math.log10(v)) : NaN) : yLin,
    xTicks: niceTicks(x0, x1, 5),
    yTicks: useLog ? logTicks(y0, y1) : niceTicks(y0, y1, 4),
  };
}

function axes(f: Frame, xLabel: string, xTickLabel: (v: number) => string = (v) => formatNumber(v, 4)): string {
  const bottom = f.h - PAD.bottom;
  const parts: string[] = [`<g class="axes">`];
  parts.push(`<line x1="${PAD.left}" y1="${bottom}" x2="${f.w - PAD.right}" y2="${bottom}"/>`);
  parts.push(`<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${bottom}"/>`);
  for (const t of f.xTicks) {
    const x = f.x(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 4}"/><text x="${x}" y="${bottom + 15}" text-anchor="middle">${escapeHtml(xTickLabel(t))}</text>`);
  }
  for (const t of f.yTicks) {
    const y = f.y(t).toFixed(1);
    parts.push(`<line class="grid" x1="${PAD.left}" y1="${y}" x2="${f.w - PAD.right}" y2="${y}"/><text x="${PAD.left - 5}" y="${y}" dy="0.32em" text-anchor="end">${escapeHtml(formatNumber(t, 3))}</text>`);
  }
  parts.push(`<text class="label" x="${f.w - PAD.right}" y="${f.h - 3}" text-anchor="end">${escapeHtml(xLabel)}</text></g>`);
  return parts.join('');
}

function open(id: string, title: string, w: number, h: number, seriesCount: number): string {
  return (
    `<svg class="chart" data-chart="${escapeHtml(id)}" data-series="${seriesCount}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${escapeHtml(title)}">` +
    `<title>${escapeHtml(title)}</title><text class="title" x="${PAD.left}" y="14">${escapeHtml(title)}</text>`
  );
}

function empty(id: string, title: string, w: number, h: number, why: string): string {
  return `${open(id, title, w, h, 0)}<text class="empty" x="${w / 2}" y="${h / 2}" text-anchor="middle">${escapeHtml(why)}</text></svg>`;
}

/** One path per series (class "series"), gaps at non-finite values; markers as dashed lines. */
export function lineChartSvg(spec: LineChartSpec): string {
  const w = spec.width ?? 340;
  const h = spec.height ?? 190;
  const all = spec.series.flatMap((s) => s.points);
  if (all.filter(([, y]) => Number.isFinite(y)).length === 0) return empty(spec.id, spec.title, w, h, 'no data yet');
  const f = frame(all.map((p) => p[0]), all.map((p) => p[1]), w, h, spec.logY ?? false);
  const parts = [open(spec.id, spec.title, w, h, spec.series.length), axes(f, spec.xLabel)];
  for (const m of spec.markers ?? []) {
    const x = f.x(m.x);
    if (!Number.isFinite(x)) continue;
    parts.push(`<line class="marker" x1="${x.toFixed(1)}" y1="${PAD.top}" x2="${x.toFixed(1)}" y2="${h - PAD.bottom}"><title>${escapeHtml(m.label)}</title></line>`);
  }
  spec.series.forEach((s, k) => {
    let d = '';
    let pen = false;
    for (const [px, py] of s.points) {
      const x = f.x(px);
      const y = f.y(py);
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
      pen = true;
    }
    const dots = s.points.length === 1 && Number.isFinite(f.y(s.points[0]![1])) ? `<circle cx="${f.x(s.points[0]![0]).toFixed(1)}" cy="${f.y(s.points[0]![1]).toFixed(1)}" r="2.5"/>` : '';
    parts.push(`<g class="series s${k}" data-name="${escapeHtml(s.name)}"><path d="${d}"/>${dots}<title>${escapeHtml(s.name)}</title></g>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface HistogramSpec {
  id: string;
  title: string;
  xLabel: string;
  /** counts[i] in [edges[i], edges[i+1]). */
  edges: number[];
  counts: number[];
  width?: number;
  height?: number;
}

/** Bars (one series); each bar's tooltip gives its range and count. */
export function histogramSvg(spec: HistogramSpec): string {
  const w = spec.width ?? 340;
  const h = spec.height ?? 190;
  if (spec.counts.length === 0 || spec.edges.length !== spec.counts.length + 1) return empty(spec.id, spec.title, w, h, 'no data');
  const f = frame([spec.edges[0]!, spec.edges[spec.edges.length - 1]!], [0, ...spec.counts], w, h, false);
  const base = f.y(0);
  const bars = spec.counts.map((c, i) => {
    const x0 = f.x(spec.edges[i]!);
    const x1 = f.x(spec.edges[i + 1]!);
    const y = f.y(c);
    return `<rect x="${(x0 + 0.5).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0.5, x1 - x0 - 1).toFixed(1)}" height="${(base - y).toFixed(1)}"><title>${escapeHtml(`[${formatNumber(spec.edges[i]!)}, ${formatNumber(spec.edges[i + 1]!)}): ${c}`)}</title></rect>`;
  });
  return `${open(spec.id, spec.title, w, h, 1)}${axes(f, spec.xLabel)}<g class="series s0 bars">${bars.join('')}</g></svg>`;
}

export interface ScatterPoint {
  x: number;
  y: number;
  label: string;
  href?: string;
}

export interface ScatterSpec {
  id: string;
  title: string;
  xLabel: string;
  /** Named in the tooltips (the title says what the axes are). */
  yLabel: string;
  points: ScatterPoint[];
  width?: number;
  height?: number;
}

/** Labelled points (one series), linked when `href` is given; the frontier of a sweep. */
export function scatterSvg(spec: ScatterSpec): string {
  const w = spec.width ?? 560;
  const h = spec.height ?? 340;
  const pts = spec.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (pts.length === 0) return empty(spec.id, spec.title, w, h, 'no finished run yet');
  // A margin of 12% around the points keeps them (and their labels) off the axes and the edges.
  const padded = (v: number[]) => {
    const [lo, hi] = extent(v);
    const m = (hi - lo) * 0.12;
    return [lo - m, hi + m];
  };
  const f = frame(padded(pts.map((p) => p.x)), padded(pts.map((p) => p.y)), w, h, false);
  const dots = [...pts]
    .sort((a, b) => a.x - b.x)
    .map((p) => {
      const x = f.x(p.x).toFixed(1);
      const y = f.y(p.y).toFixed(1);
      // Labels of points in the right half go to their left, so they stay inside the chart.
      const left = f.x(p.x) > w / 2;
      const body = `<circle cx="${x}" cy="${y}" r="4"/><text x="${x}" y="${y}" dx="${left ? -6 : 6}" dy="-6"${left ? ' text-anchor="end"' : ''}>${escapeHtml(p.label)}</text><title>${escapeHtml(`${p.label}: ${spec.xLabel} ${formatNumber(p.x)}, ${spec.yLabel} ${formatNumber(p.y)}`)}</title>`;
      return p.href ? `<a href="${escapeHtml(p.href)}" class="point">${body}</a>` : `<g class="point">${body}</g>`;
    });
  return `${open(spec.id, spec.title, w, h, 1)}${axes(f, spec.xLabel)}<g class="series s0">${dots.join('')}</g></svg>`;
}
