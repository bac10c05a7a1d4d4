import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ReportResult } from './write-report.js';

function size(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** What `sae report` prints for a person: the page written, what it could not show, how to open it. */
export function formatReportResult(r: ReportResult): string {
  const lines: string[] = [];
  if (r.kind === 'run') {
    lines.push(`report: ${r.out} (${size(r.bytes)}, ${r.features} features)`);
    for (const m of r.missing) lines.push(`  not shown: ${path.basename(m.file)}: ${m.why}`);
  } else {
    const pages = r.runs.filter((x) => x.out !== null).length;
    lines.push(`report: ${r.out} (${size(r.bytes)}), with ${pages} run page(s)`);
    for (const x of r.runs) if (x.out === null) lines.push(`  no page for ${x.run}: ${x.error}`);
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  lines.push(`open: ${pathToFileURL(r.out).href}`);
  return lines.join('\n');
}
