import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../flag-issues.js';
import { log, printJson, printText } from '../report.js';

const SweepFlags = z.object({
  config: z.string().min(1),
  grid: z.array(z.string()).default([]),
  gridFile: z.string().min(1).optional(),
  set: z.array(z.string()).default([]),
  out: z.string().min(1).optional(),
  jobs: z.coerce.number().int().min(1).max(64).default(1),
  groundTruth: z.string().min(1).optional(),
  json: z.boolean().default(false),
});

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program
    .command('sweep')
    .description('Train one run per combination of --grid values, then tabulate L0, explained variance, dead fraction (and MMCS) into sweep.csv / sweep.json. Re-running resumes.')
    .requiredOption('-c, --config <file>', 'base JSON config')
    .option('--grid <key=v1,v2,...>', 'a config field and its values, e.g. sae.l1=1e-3,3e-3 (repeatable)', collect, [])
    .option('--grid-file <file>', 'JSON grid file: a union of grids, each with its own axes and overrides (e.g. each sae.architecture with its sparsity knob); --grid axes combine with every group')
    .option('--set <path=value>', 'override applied to every run (repeatable)', collect, [])
    .option('-o, --out <dir>', 'sweep folder (default: <output.dir>/<config name>-sweep)')
    .option('-j, --jobs <n>', 'runs trained at once, each its own process (default 1)')
    .option('--ground-truth <file>', 'ground truth from `sae synth`: adds MMCS to the table')
    .option('--json', 'print the table as JSON on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const { runSweep } = await import('../../sweep/run-sweep.js');
      const { formatSweepTable } = await import('../../sweep/table.js');
      const o = parseFlags(SweepFlags, raw, 'sweep');
      const result = await runSweep({
        config: o.config,
        grid: o.grid,
        ...(o.gridFile ? { gridFile: o.gridFile } : {}),
        sets: o.set,
        jobs: o.jobs,
        onLog: log,
        ...(o.out ? { out: o.out } : {}),
        ...(o.groundTruth ? { groundTruth: o.groundTruth } : {}),
      });
      if (o.json) printJson(result);
      else printText(`${formatSweepTable(result.rows)}\n\nwrote ${result.csvPath} and ${result.jsonPath}`);
    });
}
