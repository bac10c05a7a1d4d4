/** One row of the sweep table. */
export interface SweepRow {
  run: string;
  /** 'interrupted': stopped with a checkpoint (re-running the sweep resumes it); 'missing': never ran. */
  status: 'finished' | 'failed' | 'interrupted' | 'missing';
  params: Record<string, string>;
  l1: number | null;
  width: number | null;
  expansion: number | null;
  l0: number | null;
  explainedVariance: number | null;
  deadFraction: number | null;
  mse: number | null;
  mmcs: number | null;
  /** Why a run has no metrics. */
  error?: string;
}

const COLUMNS: { key: keyof SweepRow; head: string; fmt: (v: number) => string }[] = [
  { key: 'l1', head: 'l1', fmt: (v) => String(v) },
  { key: 'width', head: 'width', fmt: (v) => String(v) },
  { key: 'l0', head: 'L0', fmt: (v) => v.toFixed(2) },
  { key: 'explainedVariance', head: 'explained_var', fmt: (v) => v.toFixed(4) },
  { key: 'deadFraction', head: 'dead_frac', fmt: (v) => v.toFixed(4) },
  { key: 'mse', head: 'mse', fmt: (v) => v.toPrecision(4) },
  { key: 'mmcs', head: 'mmcs', fmt: (v) => v.toFixed(4) },
];

function csvCell(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** CSV with a header: run, status, each swept key, then the metric columns (full precision). */
export function sweepCsv(rows: SweepRow[], keys: string[]): string {
  const head = ['run', 'status', ...keys, ...COLUMNS.map((c) => c.head)];
  const lines = rows.map((r) =>
    [r.run, r.status, ...keys.map((k) => r.params[k] ?? ''), ...COLUMNS.map((c) => (r[c.key] === null ? '' : String(r[c.key])))].map(csvCell).join(','),
  );
  return [head.join(','), ...lines].join('\n') + '\n';
}

/** An aligned text table for a person; mmcs only when some run has it. */
export function formatSweepTable(rows: SweepRow[]): string {
  const cols = COLUMNS.filter((c) => c.key !== 'mmcs' || rows.some((r) => r.mmcs !== null));
  const head = ['run', ...cols.map((c) => c.head)];
  const body = rows.map((r) => [
    r.run,
    ...cols.map((c) => {
      const v = r[c.key];
      return typeof v === 'number' ? c.fmt(v) : r.status === 'finished' ? '-' : r.status;
    }),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}
