import type { EventSummary, MetricsPoint, ResampleReport } from './report.js';

const BARS = '▁▂▃▄▅▆▇█';

/** The report as terminal text ('text') or a Markdown document ('md'). */
export function formatReport(report: ResampleReport, format: 'text' | 'md'): string {
  const md = format === 'md';
  const out: string[] = [];
  const head =
    `${report.runDir}: ${report.status} at step ${report.step} of ${report.totalSteps}; ${report.m} features` +
    (report.deadWindow !== null ? `; a feature is dead after ${report.deadWindow} steps without firing` : '');
  out.push(md ? `## Resampling report\n\n${head}` : head);
  for (const w of report.warnings) out.push(`warning: ${w}`);
  if (report.message) {
    out.push('', report.message);
    return out.join('\n') + '\n';
  }
  const n = report.events.length;
  const total = report.events.reduce((s, e) => s + e.resampled, 0);
  out.push('', `${n} resampling event${n === 1 ? '' : 's'}, ${total} feature${total === 1 ? '' : 's'} resampled in all.`, '');
  const header = ['event', 'step', 'dead before', 'resampled', 'revived in window', 'dead again', 'loss before → after', 'EV before → after'];
  const rows = report.events.map((e) => [
    String(e.event),
    String(e.step),
    `${e.dead} (${pct(e.deadFraction)})`,
    String(e.resampled),
    revived(e, report.status),
    deadAgain(e, report.status),
    pair(e.before, e.after, (p) => p.loss.toPrecision(4)),
    pair(e.before, e.after, (p) => p.explainedVariance.toFixed(3)),
  ]);
  out.push(...(md ? markdownTable(header, rows) : textTable(header, rows)));
  if (report.timeline.length) {
    const line = sparkline(report, md ? 60 : 72);
    const max = Math.max(...report.timeline.map((t) => t.deadFraction));
    const first = report.timeline[0]!.step;
    const last = report.timeline[report.timeline.length - 1]!.step;
    out.push('', `Dead fraction, steps ${first}-${last} (scale 0-${pct(max)}; ^ marks an event):`);
    out.push(...(md ? ['```', line.bars, line.marks, '```'] : [line.bars, line.marks]));
  }
  return out.join('\n') + '\n';
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function revived(e: EventSummary, status: ResampleReport['status']): string {
  if (e.resampled === 0) return '-';
  if (e.revived === null) return unsettled(status);
  const s = `${e.revived}/${e.resampled}`;
  return e.revivedWindowComplete === false ? `${s} (window cut short)` : s;
}

function deadAgain(e: EventSummary, status: ResampleReport['status']): string {
  if (e.resampled === 0) return '-';
  if (e.deadAgain === null) return unsettled(status);
  return `${e.deadAgain} (${e.deadAgainAt === 'end' ? 'at end' : 'next event'})`;
}

/** A running or interrupted (resumable) run may still record it. */
function unsettled(status: ResampleReport['status']): string {
  return status === 'running' || status === 'interrupted' ? 'pending' : 'unknown';
}

function pair(a: MetricsPoint | null, b: MetricsPoint | null, f: (p: MetricsPoint) => string): string {
  return `${a ? f(a) : '?'} → ${b ? f(b) : '?'}`;
}

function textTable(header: string[], rows: string[][]): string[] {
  const width = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((s, c) => (c < 2 ? s.padStart(width[c]!) : s.padEnd(width[c]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

function markdownTable(header: string[], rows: string[][]): string[] {
  const line = (cells: string[]) => `| ${cells.map((s) => s.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), `|${header.map((_, c) => (c < 4 ? ' ---: ' : ' --- ')).join('|')}|`, ...rows.map(line)];
}

/**
 * The dead-fraction timeline in at most `width` columns (each the maximum of the records that
 * fall in its step range), scaled to the run's maximum, with a marker line under the events.
 */
export function sparkline(report: Pick<ResampleReport, 'timeline' | 'events'>, width: number): { bars: string; marks: string } {
  const t = report.timeline;
  if (t.length === 0) return { bars: '', marks: '' };
  const s0 = t[0]!.step;
  const span = t[t.length - 1]!.step - s0 + 1;
  const cols = Math.min(width, t.length);
  const col = (step: number) => Math.min(cols - 1, Math.max(0, Math.floor(((step - s0) / span) * cols)));
  const vals: (number | null)[] = new Array(cols).fill(null);
  for (const p of t) {
    const c = col(p.step);
    vals[c] = Math.max(vals[c] ?? 0, p.deadFraction);
  }
  const max = Math.max(...t.map((p) => p.deadFraction));
  let prev = 0;
  const bars = vals
    .map((v) => {
      const x = v ?? prev;
      prev = x;
      return BARS[max > 0 ? Math.round((x / max) * (BARS.length - 1)) : 0]!;
    })
    .join('');
  const marks = new Array(cols).fill(' ');
  for (const e of report.events) marks[col(e.step)] = '^';
  return { bars, marks: marks.join('').trimEnd() };
}
