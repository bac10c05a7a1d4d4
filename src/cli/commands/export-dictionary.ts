import type { Command } from 'commander';
import { z } from 'zod';
import { log, printJson, printText } from '../report.js';
import { DEFAULT_MAX_JSON_FEATURES, EXPORT_FORMATS } from '../../io/export-choices.js';
import { ConfigError } from '../../errors.js';

const OptionsSchema = z.strictObject({
  format: z.string().min(1),
  out: z.string().min(1),
  dtype: z.enum(['float32', 'float16']).default('float32'),
  features: z.string().min(1).optional(),
  unitDecoder: z.boolean().default(false),
  force: z.boolean().default(false),
  maxJsonFeatures: z.coerce.number().int().positive().default(DEFAULT_MAX_JSON_FEATURES),
  hookName: z.string().min(1).optional(),
  json: z.boolean().default(false),
});

function flag(key: PropertyKey | undefined): string {
  return '--' + String(key ?? '').replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

export function register(program: Command): void {
  program
    .command('export-dictionary')
    .description("Export a run's final dictionary (SAELens folder, safetensors, npy, Arrow, JSON, or sparsify for TopK).")
    .argument('<run>', 'run directory made by `sae train`')
    .requiredOption('-f, --format <format>', `output format: ${EXPORT_FORMATS.join(' | ')}`)
    .requiredOption('-o, --out <path>', 'output folder (saelens, npy) or file (safetensors, arrow, json)')
    .option('--dtype <dtype>', 'tensor storage type: float32 | float16 (saelens, safetensors, npy)')
    .option('--features <list>', 'export only these features, e.g. 0-99,200,300-310')
    .option('--unit-decoder', 'rescale so decoder rows have unit norm (reconstructions unchanged)')
    .option('--force', 'overwrite an existing output; allow json exports above the size limit')
    .option('--max-json-features <n>', `largest json export without --force (default ${DEFAULT_MAX_JSON_FEATURES})`)
    .option('--hook-name <name>', "TransformerLens hook of the activations, e.g. blocks.3.hook_resid_post (default: from the data's metadata)")
    .option('--json', 'print the result as JSON on stdout')
    .action(async (run: string, raw: Record<string, unknown>) => {
      const { exportDictionary } = await import('../../io/export.js');
      const parsed = OptionsSchema.safeParse(raw);
      if (!parsed.success) {
        const lines = parsed.error.issues.map((i) => `${flag(i.path[0])}: ${i.message.replace(/^Invalid (input|option): /, '').replace(/, received .*$/, '')}, got '${String(raw[String(i.path[0])])}'`);
        throw new ConfigError(lines.join('\n'), 'Run `sae export-dictionary --help` for the options.');
      }
      const { json, ...opts } = parsed.data;
      const result = exportDictionary(run, opts);
      if (result.source.note) log(`note: ${result.source.note}`);
      for (const w of result.warnings) log(`warning: ${w}`);
      if (json) printJson(result);
      else {
        const what = result.dSae === result.sourceFeatures ? `${result.dSae} features` : `${result.dSae} of ${result.sourceFeatures} features`;
        printText(
          `exported ${what} (d_in ${result.dIn}, ${result.dtype}${result.unitDecoder ? ', unit-norm decoder' : ''}) as ${result.format} to ${result.out}` +
            ` (${result.files.length} file${result.files.length === 1 ? '' : 's'}, ${result.bytes} bytes)`,
        );
      }
    });
}
