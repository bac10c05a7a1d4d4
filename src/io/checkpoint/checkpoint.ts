import fs from 'node:fs';
import path from 'node:path';
import { CheckpointError, RunError, describeError } from '../../errors.js';
import { fsError, fsyncDir } from '../atomic.js';
import {
  CHECKPOINT_FILES,
  buildManifest,
  decodeCheckpointFiles,
  encodeCheckpointFiles,
  parseManifest,
  sha256Hex,
  type CheckpointState,
} from './format.js';
import { processAlive } from '../lock.js';
import { RUN_FILES } from '../run-layout.js';

export * from './format.js';

/**
 * Checkpoint directories under `<run>/checkpoints/`: `step-00001234/` when complete; a writer
 * works in `step-00001234.tmp-<pid>/` and renames it into place, so a reader never sees a part.
 */
const COMPLETE = /^step-(\d{8,})$/;
const LEFTOVER = /^step-\d{8,}\.(?:tmp|old)-(\d+)$/;

export interface CheckpointEntry {
  step: number;
  dir: string;
}

export function checkpointDirName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

function checkpointsRoot(runDir: string): string {
  return path.join(runDir, RUN_FILES.checkpoints);
}

/** Complete checkpoint directories (not verified), oldest first. Empty if there are none. */
export function listCheckpoints(runDir: string): CheckpointEntry[] {
  const root = checkpointsRoot(runDir);
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(root, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fsError(err, root, 'list the checkpoints in');
  }
  const out: CheckpointEntry[] = [];
  for (const e of names) {
    const match = COMPLETE.exec(e.name);
    if (match && e.isDirectory()) out.push({ step: Number(match[1]), dir: path.join(root, e.name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** listCheckpoints, or nothing if the folder cannot be read (writing it will report why). */
function listQuietly(runDir: string): CheckpointEntry[] {
  try {
    return listCheckpoints(runDir);
  } catch {
    return [];
  }
}

function removeQuietly(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch {
    // Best effort: a leftover is ignored by readers and retried next time.
  }
}

/** Write, fsync and close one new file. */
function writeSynced(file: string, data: Uint8Array): void {
  const fd = fs.openSync(file, 'wx', 0o644);
  try {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Remove temporary directories that interrupted writers (this process or dead ones) left behind. */
function removeLeftovers(root: string): void {
  for (const name of fs.readdirSync(root)) {
    const match = LEFTOVER.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || !processAlive(pid)) removeQuietly(path.join(root, name));
  }
}

export interface WriteCheckpointOptions {
  /** Checkpoints to keep, including the new one (>= 1). */
  keep: number;
  /** Problems that do not lose data (an old checkpoint that could not be deleted). */
  onWarning?: (message: string) => void;
}

/**
 * Write a checkpoint atomically and return its directory: files into a temporary directory,
 * each fsynced, manifest last, rename into place, fsync `checkpoints/`. Then keep the newest
 * `keep` checkpoints up to this step and delete the rest, including any of a later step (left by
 * an attempt this run was resumed before). On failure (disk full, not writable) throws RunError
 * naming the path and reason; the temporary directory is removed and earlier checkpoints stay.
 */
export function writeCheckpoint(runDir: string, state: CheckpointState, opts: WriteCheckpointOptions): string {
  const root = checkpointsRoot(runDir);
  const name = checkpointDirName(state.step);
  const final = path.join(root, name);
  const tmp = path.join(root, `${name}.tmp-${process.pid}`);
  const trash = path.join(root, `${name}.old-${process.pid}`);
  const files = encodeCheckpointFiles(state);
  const manifest = Buffer.from(JSON.stringify(buildManifest(state.step, files), null, 2) + '\n', 'utf8');
  const previous = listQuietly(runDir).filter((e) => e.step < state.step).pop();

  let at = root;
  let action = 'create the checkpoints folder';
  let replaced = false;
  try {
    fs.mkdirSync(root, { recursive: true });
    removeLeftovers(root);
    at = tmp;
    action = 'create the folder';
    fs.mkdirSync(tmp);
    action = 'write';
    for (const [file, bytes] of Object.entries(files)) {
      at = path.join(tmp, file);
      writeSynced(at, bytes);
    }
    at = path.join(tmp, CHECKPOINT_FILES.manifest);
    writeSynced(at, manifest);
    fsyncDir(tmp);
    at = final;
    action = 'rename the finished checkpoint into';
    // A directory cannot be renamed over a non-empty one: move an older copy of this step aside first.
    if (fs.existsSync(final)) {
      fs.renameSync(final, trash);
      replaced = true;
    }
    fs.renameSync(tmp, final);
  } catch (err) {
    removeQuietly(tmp);
    if (replaced && !fs.existsSync(final)) {
      try {
        fs.renameSync(trash, final);
      } catch {
        // The old copy stays under its .old- name; the next write cleans it up.
      }
    }
    const inner = fsError(err, at, action);
    throw new RunError(
      `checkpoint at step ${state.step} was not written: ${inner.message}`,
      `${inner.hint ?? ''} ${previous ? `The previous checkpoint (${path.basename(previous.dir)}) is intact.` : 'No earlier checkpoint exists.'}`.trim(),
    );
  }
  fsyncDir(root);
  if (replaced) removeQuietly(trash);
  prune(runDir, state.step, Math.max(1, opts.keep), opts.onWarning);
  return final;
}

function prune(runDir: string, step: number, keep: number, onWarning?: (m: string) => void): void {
  const all = listCheckpoints(runDir);
  const upTo = all.filter((e) => e.step <= step);
  const doomed = [...all.filter((e) => e.step > step), ...upTo.slice(0, Math.max(0, upTo.length - keep))];
  for (const e of doomed) {
    try {
      // Rename first so a crash mid-delete leaves a leftover, never a half-deleted checkpoint.
      const gone = `${e.dir}.old-${process.pid}`;
      fs.renameSync(e.dir, gone);
      fs.rmSync(gone, { recursive: true, force: true });
    } catch (err) {
      onWarning?.(`could not delete the old checkpoint ${e.dir} (${describeError(err)}); delete it by hand to free space.`);
    }
  }
}

function readPart(dir: string, file: string): Uint8Array {
  try {
    return fs.readFileSync(path.join(dir, file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'missing' : `unreadable (${code ?? describeError(err)})`}`);
  }
}

/** Verify and decode one checkpoint directory; an Error whose message is the short reason if it is bad. */
function loadDir(dir: string): CheckpointState {
  const manifest = parseManifest(Buffer.from(readPart(dir, CHECKPOINT_FILES.manifest)).toString('utf8'));
  const match = COMPLETE.exec(path.basename(dir));
  if (match && Number(match[1]) !== manifest.step) {
    throw new Error(`${CHECKPOINT_FILES.manifest}: step ${manifest.step} does not match the folder name`);
  }
  const parts: Record<string, Uint8Array> = {};
  for (const file of [CHECKPOINT_FILES.tensors, CHECKPOINT_FILES.state]) {
    const bytes = readPart(dir, file);
    const want = manifest.files[file]!;
    if (bytes.length !== want.bytes) throw new Error(`${file}: ${bytes.length} bytes, expected ${want.bytes}`);
    if (sha256Hex(bytes) !== want.sha256) throw new Error(`${file}: checksum mismatch`);
    parts[file] = bytes;
  }
  const state = decodeCheckpointFiles({ tensors: parts[CHECKPOINT_FILES.tensors]!, state: parts[CHECKPOINT_FILES.state]! }, dir);
  if (state.step !== manifest.step) throw new Error(`${CHECKPOINT_FILES.state}: step ${state.step}, manifest says ${manifest.step}`);
  return state;
}

/**
 * Read and verify one checkpoint directory: manifest, then each file's size and sha256, then
 * the contents. Throws CheckpointError saying what is wrong.
 */
export function readCheckpoint(dir: string): CheckpointState {
  try {
    return loadDir(dir);
  } catch (err) {
    throw new CheckpointError(
      `checkpoint ${dir} is corrupt (${describeError(err)})`,
      'Resume from an earlier checkpoint (delete this folder), or start the run again.',
    );
  }
}

/**
 * The newest checkpoint that verifies, or null if there is none. Each newer one that does not
 * verify is reported through onWarning (`checkpoint step-00001234 is corrupt (tensors.safetensors:
 * checksum mismatch); using step-00001000`) and skipped. Read-only.
 */
export function loadLatestCheckpoint(runDir: string, onWarning?: (message: string) => void): CheckpointState | null {
  const bad: { name: string; reason: string }[] = [];
  for (const entry of listCheckpoints(runDir).reverse()) {
    const name = path.basename(entry.dir);
    let state: CheckpointState;
    try {
      state = loadDir(entry.dir);
    } catch (err) {
      bad.push({ name, reason: describeError(err) });
      continue;
    }
    for (const b of bad) onWarning?.(`checkpoint ${b.name} is corrupt (${b.reason}); using ${name}`);
    return state;
  }
  for (const b of bad) onWarning?.(`checkpoint ${b.name} is corrupt (${b.reason}); no usable checkpoint is left`);
  return null;
}

/**
 * Refuse to resume a checkpoint written under a config other than the accepted ones: the run's
 * config now, and the earlier configs of a run extended with `--set train.steps` (run.json's
 * priorConfigDigests).
 */
export function assertSameConfig(state: CheckpointState, accepted: Iterable<string>, runDir: string): void {
  if (new Set(accepted).has(state.configDigest)) return;
  throw new CheckpointError(
    `${runDir}: the newest checkpoint (step ${state.step}) was written with a different config than ${RUN_FILES.config} ` +
      `(digest ${state.configDigest.slice(0, 12)})`,
    `Restore the original ${RUN_FILES.config} of the run, or start a new run.`,
  );
}
