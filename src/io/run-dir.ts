import fs from 'node:fs';
import path from 'node:path';
import { RunError } from '../errors.js';
import type { SaeWeights } from '../sae/params.js';
import { fsError, readFileChecked, writeJsonAtomic } from './atomic.js';
import { RUN_FILES, RUN_FORMAT_VERSION, runFile, type RunInfo } from './run-layout.js';
import { readSaelensDir, writeSaelensDir, type DictionaryMeta, type SaelensDictionary } from './saelens.js';

/** An opened run directory. */
export interface RunHandle {
  /** Absolute path. */
  dir: string;
  info: RunInfo;
  /** config.json without its formatVersion (the resolved config as the trainer wrote it). */
  config: unknown;
}

function listSome(names: string[]): string {
  const shown = names.slice(0, 4).join(', ');
  return names.length > 4 ? `${shown}, ...` : shown;
}

function readJsonFile(file: string): unknown {
  const text = readFileChecked(file).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RunError(
      `${file} is not valid JSON (${(err as Error).message}).`,
      'The run directory is damaged; restore the file from a copy or start a new run.',
    );
  }
}

/**
 * Make `dir` ready for a new run. An existing non-empty folder is refused unless `force`; with
 * force, the previous run's files (those of RUN_FILES, except a LOCK, which the lock owner
 * judges) and our leftover temporaries are removed, and files the toolkit did not make stay.
 * The LOCK itself does not make a folder non-empty: the caller holds it (see claimRunDir).
 */
export function createRunDir(dir: string, opts: { force: boolean }): void {
  let entries: string[] = [];
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) {
      throw new RunError(`${dir} is a file, not a folder.`, 'Choose another run directory with --out DIR.');
    }
    entries = fs.readdirSync(dir).filter((f) => f !== RUN_FILES.lock).sort();
  }
  if (entries.length > 0 && !opts.force) {
    const isRun = entries.includes(RUN_FILES.run) || entries.includes(RUN_FILES.config);
    const shown = isRun
      ? [...[RUN_FILES.config, RUN_FILES.run].filter((f) => entries.includes(f)), ...entries.filter((f) => f !== RUN_FILES.config && f !== RUN_FILES.run)]
      : entries;
    const what = isRun ? 'already holds a run' : 'is not empty';
    throw new RunError(
      `${dir} ${what} (${listSome(shown)}).`,
      `Use --force to overwrite, --out DIR for another directory${isRun ? `, or \`sae train --resume ${dir}\` to continue it` : ''}.`,
    );
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
    for (const [key, name] of Object.entries(RUN_FILES)) {
      if (key === 'lock') continue;
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
    for (const name of entries) {
      if (name.startsWith('.') && name.includes('.partial-')) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
  } catch (err) {
    throw fsError(err, dir, 'prepare the run directory');
  }
}

function validateRunInfo(x: unknown, file: string): RunInfo {
  const info = x as Partial<RunInfo> | null;
  const fail = (what: string): never => {
    throw new RunError(`${file}: ${what}.`, 'The run directory is damaged or was not made by `sae train`.');
  };
  if (info === null || typeof info !== 'object' || Array.isArray(info)) return fail('expected a JSON object');
  if (typeof info.formatVersion !== 'number') return fail('missing formatVersion');
  if (info.formatVersion > RUN_FORMAT_VERSION) {
    throw new RunError(
      `${file}: run format ${info.formatVersion} is newer than this sae reads (${RUN_FORMAT_VERSION}).`,
      'Use the version of sae that made this run, or upgrade sae.',
    );
  }
  for (const k of ['d', 'm', 'step', 'totalSteps'] as const) {
    if (!Number.isSafeInteger(info[k]) || (info[k] as number) < 0) fail(`'${k}' must be a non-negative integer, found ${JSON.stringify(info[k])}`);
  }
  if (!['running', 'finished', 'interrupted', 'failed'].includes(info.status as string)) fail(`unknown status ${JSON.stringify(info.status)}`);
  if (info.dataMetadata === null || typeof info.dataMetadata !== 'object') fail("'dataMetadata' must be an object");
  return info as RunInfo;
}

/** Open an existing run directory: RunError if it is missing, not a folder, or not a run. */
export function openRun(dir: string): RunHandle {
  if (!fs.existsSync(dir)) {
    throw new RunError(`${dir} does not exist.`, 'Check the path. Run directories are made by `sae train` (under output.dir of the config).');
  }
  if (!fs.statSync(dir).isDirectory()) {
    throw new RunError(`${dir} is a file, not a run directory.`, 'Pass the run folder made by `sae train`, e.g. runs/<name>.');
  }
  for (const name of [RUN_FILES.run, RUN_FILES.config]) {
    if (!fs.existsSync(path.join(dir, name))) {
      throw new RunError(`${dir} is not a run directory (no ${name}).`, 'Run directories are made by `sae train`; pass one of those.');
    }
  }
  const info = readRunInfo(dir);
  const raw = readJsonFile(runFile(dir, 'config'));
  let config: unknown = raw;
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const { formatVersion: _formatVersion, ...rest } = raw as Record<string, unknown>;
    config = rest;
  }
  return { dir: path.resolve(dir), info, config };
}

export function writeRunInfo(dir: string, info: RunInfo): void {
  writeJsonAtomic(runFile(dir, 'run'), info);
}

export function readRunInfo(dir: string): RunInfo {
  const file = runFile(dir, 'run');
  return validateRunInfo(readJsonFile(file), file);
}

/** Write config.json: the resolved config plus the run format version. */
export function writeRunConfig(dir: string, config: object): void {
  writeJsonAtomic(runFile(dir, 'config'), { formatVersion: RUN_FORMAT_VERSION, ...config });
}

/**
 * Write the final dictionary into the run directory in SAELens' layout (cfg.json,
 * sae_weights.safetensors, sparsity.safetensors when log10Density is given). The weights must
 * already be in raw-activation units (any input scaling folded in by the caller).
 */
export function writeFinalDictionary(dir: string, w: SaeWeights, meta: DictionaryMeta): void {
  writeSaelensDir(dir, w, meta);
}

export function hasFinalDictionary(dir: string): boolean {
  return fs.existsSync(runFile(dir, 'saelensCfg')) && fs.existsSync(runFile(dir, 'weights'));
}

/** The final dictionary of a run; RunError saying what to do when the run has none yet. */
export function readFinalWeights(dir: string): SaelensDictionary {
  if (!hasFinalDictionary(dir)) {
    let status: RunInfo['status'] | undefined;
    try {
      status = readRunInfo(dir).status;
    } catch {
      status = undefined;
    }
    const missing = [RUN_FILES.weights, RUN_FILES.saelensCfg].filter((f) => !fs.existsSync(path.join(dir, f)));
    const why =
      status === 'running'
        ? 'the run is still training (or stopped without updating run.json)'
        : status === 'interrupted' || status === 'failed'
          ? `the run ${status} before it finished`
          : 'the run has not written it';
    throw new RunError(
      `${dir} has no final dictionary (${missing.join(', ')} missing): ${why}.`,
      status === 'finished'
        ? 'The run says it finished but its dictionary is gone; restore the files or train again.'
        : `Finish the run with \`sae train --resume ${dir}\`; it writes the dictionary at the end (its latest checkpoint is kept under ${RUN_FILES.checkpoints}/).`,
    );
  }
  return readSaelensDir(dir);
}
