import { Option, type Command } from 'commander';
import { printJson, printText } from '../report.js';

export function register(program: Command): void {
  program
    .command('resample-report')
    .description('Summarise the dead-feature resampling of a run: per event, what was dead, what was resampled, what revived and stayed alive.')
    .argument('<run>', 'run directory (finished, interrupted or still training)')
    .option('--json', 'print the report as JSON on stdout')
    .addOption(new Option('--format <format>', 'text for a terminal, md for Markdown').choices(['text', 'md']).default('text'))
    .action(async (run: string, opts: { json?: boolean; format: 'text' | 'md' }) => {
      const { formatReport } = await import('../../resample/report-format.js');
      const { buildResampleReport } = await import('../../resample/report.js');
      const report = buildResampleReport(run);
      if (opts.json) printJson(report);
      else printText(formatReport(report, opts.format));
    });
}
