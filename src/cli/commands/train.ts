import path from 'node:path';
import type { Command } from 'commander';
import { progressRenderer } from '../progress-bar.js';
import { log, printJson } from '../report.js';
import { stopOnSignals } from '../signals.js';
import { BACKEND_CHOICES, type BackendChoice } from '../../backend/choices.js';
import { ConfigError } from '../../errors.js';
import { formatDuration, formatProgressLine } from '../../train/progress.js';

interface TrainOptions {
  config?: string;
  resume?: string;
  out?: string;
  set: string[];
  backend?: BackendChoice;
  seed?: string;
  force?: boolean;
  maxMemory?: string;
  json?: boolean;
  verbose?: boolean;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('Train an SAE on Arrow activation dumps as a config file describes; writes a run directory.')
    .option('-c, --config <file>', 'JSON config file (see configs/schema.json)')
    .option('--resume <run>', 'continue the run in this directory from its newest good checkpoint')
    .option('-o, --out <dir>', 'run directory (default: output.dir/output.name from the config)')
    .option('--set <path=value>', 'override a config field, e.g. --set train.lr=3e-4 (repeatable)', collect, [])
    .option('--backend <name>', 'tfjs backend: auto | webgpu | tensorflow | wasm | cpu')
    .option('--seed <n>', 'random seed (overrides train.seed)')
    .option('--force', 'overwrite a non-empty run directory')
    .option('--verbose', 'also say why the preferred backends did not load (e.g. @tensorflow/tfjs-node is not installed)')
    .option('--json', 'print the final summary as JSON on stdout (progress stays on stderr)')
    .option('--max-memory <size>', 'memory budget for the run, e.g. 8G or 512M (default: the free memory; checked before allocating)')
    .action(async (opts: TrainOptions) => {
      const { loadConfig } = await import('../../config/load.js');
      const { train } = await import('../../train/trainer.js');
      const { parseByteSize } = await import('../../train/memory-estimate.js');
      const { trainSummary } = await import('../../train/summary.js');
      const backend = opts.backend;
      if (backend !== undefined && !BACKEND_CHOICES.includes(backend)) {
        throw new ConfigError(`--backend: expected ${BACKEND_CHOICES.join(', ')}, got '${backend}'`);
      }
      const extendSteps = opts.resume !== undefined ? parseExtension(opts.set) : undefined;
      if (opts.resume !== undefined && (opts.config || opts.seed !== undefined || opts.out)) {
        throw new ConfigError(
          '--resume continues a run with the config it was started with; --config, --seed and --out cannot be combined with it',
          `Run: sae train --resume ${opts.resume} (add --set train.steps=N to change the run's length)`,
        );
      }
      if (opts.resume === undefined && !opts.config) {
        throw new ConfigError('sae train needs --config <file> (or --resume <run>)', 'Try: sae train --config configs/quickstart.json');
      }
      const maxMemory = opts.maxMemory === undefined ? undefined : parseByteSize(opts.maxMemory);
      if (maxMemory === null) {
        throw new ConfigError(`--max-memory: expected a size such as 8G, 512M or 1000000 (bytes), got '${opts.maxMemory}'`);
      }
      const sets = [...opts.set];
      if (opts.seed !== undefined) sets.push(`train.seed=${opts.seed}`);
      const loaded = opts.config ? loadConfig(opts.config, sets) : null;
      const render = progressRenderer(process.stderr);
      const signals = stopOnSignals((line) => render.log(line));
      try {
        const result = await train(
          {
            ...(loaded ? { config: loaded.config, configFile: loaded.file } : {}),
            ...(opts.resume !== undefined ? { resume: opts.resume } : {}),
            ...(extendSteps !== undefined ? { extendSteps } : {}),
            ...(opts.out ? { outDir: opts.out } : {}),
            ...(backend ? { backend } : {}),
            force: opts.force ?? false,
            verbose: opts.verbose ?? false,
            ...(maxMemory !== undefined ? { maxMemory } : {}),
          },
          { onProgress: (p) => render.update(p), onLog: (l) => render.log(l), stopRequested: signals.requested },
        );
        render.done();
        const ev = result.eval;
        log(
          `done: ${result.steps} steps, ${result.tokens} tokens in ${formatDuration(result.seconds)} on ${result.backend}` +
            (result.resumedFrom !== null ? ` (resumed from step ${result.resumedFrom})` : '') +
            (result.last ? `\nlast: ${formatProgressLine({ ...result.last, totalSteps: result.steps, etaSeconds: 0 })}` : '') +
            `\nheld-out (${ev.rows} rows): explained variance ${ev.explainedVariance.toFixed(4)}, L0 ${ev.l0.toFixed(2)}, ` +
            `mse ${ev.mse.toFixed(4)}, dead (never fired on them) ${(100 * ev.deadFraction).toFixed(1)}%` +
            `\nrun directory: ${shownPath(result.runDir)}`,
        );
        for (const w of result.warnings) log(`warning: ${w}`);
        if (opts.json) printJson(trainSummary(result));
      } finally {
        render.done();
        signals.dispose();
      }
    });
}

/** With --resume, the only --set allowed is train.steps=N (a new length for the run). */
function parseExtension(sets: string[]): number | undefined {
  let steps: number | undefined;
  for (const s of sets) {
    const m = /^train\.steps=(\d+)$/.exec(s.trim());
    if (!m || Number(m[1]) < 1) {
      throw new ConfigError(
        `--set ${s}: with --resume only train.steps=N (a positive integer) can be changed; the rest of the run's config stays as it was started`,
        'Extend a run with `sae train --resume <run> --set train.steps=N`; for other changes start a new run with --config.',
      );
    }
    steps = Number(m[1]);
  }
  return steps;
}

/** A path under the working directory as typed there (runs/x), anything else absolute. */
function shownPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
