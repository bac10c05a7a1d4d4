import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../flag-issues.js';
import { log, printJson, printText } from '../report.js';
import { SYNTH_DEFAULTS } from '../../data/synth/synth.js';

const int = (min: number) => z.coerce.number().int().min(min);
const SynthFlags = z.object({
  out: z.string().min(1),
  rows: int(1).default(SYNTH_DEFAULTS.rows),
  evalRows: int(0).default(0),
  features: int(1).default(SYNTH_DEFAULTS.features),
  dim: int(1).default(SYNTH_DEFAULTS.dim),
  active: z.coerce.number().positive().default(SYNTH_DEFAULTS.active),
  decay: z.coerce.number().gt(0).max(1).default(SYNTH_DEFAULTS.decay),
  correlated: z.boolean().default(false),
  noise: z.coerce.number().nonnegative().default(0),
  seed: z.coerce.number().int().default(0),
  blockRows: int(1).default(SYNTH_DEFAULTS.blockRows),
  force: z.boolean().default(false),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('synth')
    .description(
      'Write synthetic superposition data with a known dictionary (Sharkey et al. 2022; Cunningham et al. 2023): ' +
        'features unit directions, feature i active with probability ~ decay^i, magnitudes U(0,1)*U(0,1).',
    )
    .requiredOption('-o, --out <dir|file.arrow>', 'output folder, or a data file path ending in .arrow')
    .option('--rows <n>', `training rows (default ${SYNTH_DEFAULTS.rows})`)
    .option('--eval-rows <n>', 'extra held-out rows from the same generator, written to eval.arrow (default 0)')
    .option('--features <G>', `ground-truth features (default ${SYNTH_DEFAULTS.features})`)
    .option('--dim <d>', `activation width (default ${SYNTH_DEFAULTS.dim})`)
    .option('--active <k>', `mean active features per row (default ${SYNTH_DEFAULTS.active})`)
    .option('--decay <r>', `probability decay per feature index, 1 = uniform (default ${SYNTH_DEFAULTS.decay})`)
    .option('--correlated', 'correlated feature probabilities (random correlation through the normal CDF, per block)')
    .option('--noise <sigma>', 'std of added isotropic Gaussian noise (default 0)')
    .option('--seed <n>', 'random seed; fixes the dictionary and the rows (default 0)')
    .option('--block-rows <n>', `rows per record batch and per correlated draw (default ${SYNTH_DEFAULTS.blockRows})`)
    .option('--force', 'replace existing output files')
    .option('--json', 'print the summary as JSON on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const { writeSynthetic } = await import('../../data/synth/write.js');
      const { json, ...o } = parseFlags(SynthFlags, raw, 'synth');
      let lastPct = -1;
      const report = await writeSynthetic({
        ...SYNTH_DEFAULTS,
        ...o,
        onProgress: (done, total) => {
          const pct = Math.floor((100 * done) / total);
          if (!json && pct >= lastPct + 10) log(`synth: ${done}/${total} rows (${(lastPct = pct)}%)`);
        },
      });
      if (json) return printJson(report);
      const m = report.measured;
      printText(
        `wrote ${Object.values(report.files).join(', ')}\n` +
          `mean active ${m.meanActive.toFixed(3)}, empty rows ${(100 * m.emptyFraction).toFixed(2)}%, ` +
          `feature frequency ${m.minFeatureFrequency.toExponential(2)}..${m.maxFeatureFrequency.toExponential(2)}, ` +
          `max |cos| between true features ${m.maxAbsOffDiagonalCosine.toFixed(3)}, ${report.seconds.toFixed(1)} s`,
      );
    });
}
