import type { Command } from 'commander';
import { z } from 'zod';
import { DEFAULT_REPORT_EXAMPLES } from '../../report/report-defaults.js';
import { parseFlags } from '../flag-issues.js';
import { log, printJson, printText } from '../report.js';

const ReportFlags = z.strictObject({
  out: z.string().min(1).optional(),
  examples: z.string().regex(/^\d+$/, 'expected a non-negative integer').transform(Number).optional(),
  model: z.string().min(1).optional(),
  open: z.boolean().default(false),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('report')
    .description('Write one self-contained HTML page (works offline from file://) for a run: curves, held-out metrics, resampling, a feature browser; or for a sweep: the frontier, the table and each run\'s page.')
    .argument('<dir>', 'run directory (finished, interrupted or still training) or sweep folder')
    .option('--out <file>', 'where to write the page (default: <dir>/report.html)')
    .option('--examples <n>', `top examples per feature kept in the page (default ${DEFAULT_REPORT_EXAMPLES}; bounds the file size)`)
    .option('--model <gguf>', "the GGUF model the run's activations came from: each feature card shows the tokens its decoder direction promotes and suppresses")
    .option('--open', 'open the page in the default browser (xdg-open, open or start)')
    .option('--json', 'print what was written as JSON on stdout')
    .action(async (dir: string, raw: Record<string, unknown>) => {
      const { formatReportResult } = await import('../../report/report-format.js');
      const { openPage } = await import('../../report/open-page.js');
      const { writeReport } = await import('../../report/write-report.js');
      const o = parseFlags(ReportFlags, raw, 'report');
      const result = await writeReport({
        target: dir,
        ...(o.out ? { out: o.out } : {}),
        ...(o.examples !== undefined ? { examples: o.examples } : {}),
        ...(o.model ? { model: o.model } : {}),
      });
      if (o.json) printJson(result);
      else printText(formatReportResult(result));
      if (o.open) {
        const failed = await openPage(result.out);
        if (failed) log(`warning: could not open a browser (${failed}); open ${result.out} yourself.`);
      }
    });
}
