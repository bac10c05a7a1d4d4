import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../flag-issues.js';
import { printJson, printText } from '../report.js';
import { ConfigError, formatFeatureCard, formatFeatureList, FEATURE_SORT_KEYS, describeFeature, listFeatures } from '../../index.js';

const intString = z.string().regex(/^\d+$/, 'expected a non-negative integer').transform(Number);

const FeaturesOptions = z.strictObject({
  sort: z.enum(FEATURE_SORT_KEYS).default('index'),
  limit: intString.pipe(z.number().int().positive()).optional(),
  ascending: z.boolean().default(false),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('features')
    .description("List a run's features with their statistics, or show one feature's card with its top examples in context.")
    .argument('<run>', 'run directory (or a features .arrow file written by `sae stats --out`)')
    .argument('[index]', 'show this feature: statistics and top activating examples, the token marked [[like this]]')
    .option('--sort <key>', `order of the list: ${FEATURE_SORT_KEYS.join(' | ')} (largest first, index ascending; density is log10 frequency: the same order)`)
    .option('--ascending', 'smallest first, e.g. --sort frequency --ascending for the rarest features')
    .option('--limit <n>', 'show at most this many features')
    .option('--json', 'machine-readable output on stdout')
    .action((run: string, index: string | undefined, raw: Record<string, unknown>) => {
      const opts = parseFlags(FeaturesOptions, raw, 'features');
      if (index !== undefined) {
        if (!/^\d+$/.test(index)) {
          throw new ConfigError(`sae features: <index> must be a feature number (0, 1, ...), got '${index}'.`, 'See `sae features --help`.');
        }
        const card = describeFeature(run, Number(index));
        if (opts.json) printJson(card);
        else printText(formatFeatureCard(card));
        return;
      }
      const listing = listFeatures(run, { sort: opts.sort, limit: opts.limit, ascending: opts.ascending });
      if (opts.json) printJson(listing);
      else printText(formatFeatureList(listing));
    });
}
