import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ModelError } from '../../errors.js';
import type { TokenWindow } from '../documents.js';
import { hookOrder } from '../hooks.js';
import type { LlamaModel } from '../llama.js';
import { instantiateKernels } from './kernels.js';
import { packWeights, type PackedWeights } from './packed-weights.js';
import type { ForwardReply, InitRequest, ReadRequest, SpliceRequest } from './protocol.js';
import type { SpliceScores } from './splice.js';

/** `--threads auto`: the cores Node reports, at most this many. */
export const MAX_AUTO_THREADS = 8;

/** A thread count from `--threads` (a positive integer, or 'auto' for the available cores, capped). */
export function resolveThreads(threads: number | 'auto'): number {
  return threads === 'auto' ? Math.max(1, Math.min(os.availableParallelism(), MAX_AUTO_THREADS)) : threads;
}

/**
 * A pool of `threads` workers for `model` ('auto': the available cores, capped), or null for one
 * thread, or where the kernels cannot run (the caller's in-process path then falls back as usual).
 */
export async function openForwardPool(model: LlamaModel, threads: number | 'auto'): Promise<ForwardPool | null> {
  const n = resolveThreads(threads);
  if (n <= 1 || !instantiateKernels().kernels) return null;
  return ForwardPool.create(model, n);
}

/** The built worker script: under vitest this module runs from src/, the worker needs dist/'s JavaScript. */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  const src = `${path.sep}src${path.sep}`;
  const js = here.endsWith('.ts') ? here.slice(0, here.lastIndexOf(src)) + `${path.sep}dist${path.sep}` + here.slice(here.lastIndexOf(src) + src.length).replace(/\.ts$/, '.js') : here;
  return path.join(path.dirname(js), 'worker.js');
}

/**
 * Contiguous parts of a batch, one per worker (at most `parts`), of about equal cost: a window of
 * length L costs ~L (products) + L^2 / 256 (attention).
 */
export function splitBatch(lengths: readonly number[], parts: number): [number, number][] {
  const n = lengths.length;
  const cost = lengths.map((l) => l + (l * l) / 256);
  const total = cost.reduce((a, b) => a + b, 0);
  const out: [number, number][] = [];
  let from = 0;
  let acc = 0;
  for (let p = 1; p <= parts && from < n; p++) {
    let to = from;
    // At least one window per part; then windows while this part's share of the cost is not
    // passed, leaving one for each part after it (the last part takes the rest).
    const take = (i: number): boolean => i === from || p === parts || (i < n - (parts - p) && acc + cost[i]! / 2 <= (total * p) / parts);
    while (to < n && take(to)) acc += cost[to++]!;
    out.push([from, to]);
    from = to;
  }
  return out;
}

type Pending = { resolve: (r: ForwardReply) => void; reject: (e: Error) => void };

/**
 * The no-gradient forward pass split over worker threads: each worker holds its own kernel
 * instance and copy of the weights (packed once into a SharedArrayBuffer the workers copy from,
 * then free; memory per worker: the float32 weights with the rotary pair-swapped Q/K columns and
 * the rotary tables, 572 MiB for a 110M-parameter Llama of stories110M's shape), and runs its part
 * of each batch. Each sequence's activations depend on it alone (core.ts), so the result is bit-identical
 * to one thread's. A worker that fails or exits rejects the call in flight, never hangs it.
 */
export class ForwardPool {
  private readonly pending: (Pending | null)[];
  private failure: Error | null = null;

  private constructor(private readonly workers: Worker[], private readonly model: LlamaModel) {
    this.pending = workers.map(() => null);
    workers.forEach((w, k) => {
      w.on('message', (r: ForwardReply) => {
        const p = this.pending[k];
        this.pending[k] = null;
        w.unref();
        if (!p) return;
        if (r.kind === 'error') p.reject(this.fail(k, r.message, r.stack));
        else p.resolve(r);
      });
      // A worker lost while idle fails the next call, so nothing waits on it.
      const lost = (message: string): void => {
        const err = this.fail(k, message);
        const p = this.pending[k];
        this.pending[k] = null;
        p?.reject(err);
      };
      w.on('error', (e) => lost(e.message));
      w.on('exit', (code) => lost(`it exited (code ${code})`));
    });
  }

  /** Start `threads` workers for `model` (weights from the packed buffer, or the model's own). */
  static async create(model: LlamaModel, threads: number, weights?: PackedWeights): Promise<ForwardPool> {
    const packed = weights ?? packWeights(model.config, model.weights, model.rope, true);
    const init: InitRequest = { kind: 'init', config: model.config, weights: packed };
    const script = workerScript();
    const pool = new ForwardPool(
      Array.from({ length: threads }, () => new Worker(script)),
      model,
    );
    try {
      await Promise.all(
        pool.workers.map((w, k) => {
          const ready = pool.expect(k);
          w.postMessage(init);
          return ready;
        }),
      );
    } catch (err) {
      await pool.dispose();
      throw err;
    }
    return pool;
  }

  get threads(): number {
    return this.workers.length;
  }

  private fail(k: number, message: string, stack?: string): Error {
    const err = new ModelError(`forward worker ${k} of ${this.workers.length} failed: ${message}`, 'Run again with --threads 1 to use no worker threads (add --debug for the worker\'s stack).');
    if (stack) err.stack = stack;
    this.failure ??= err;
    return err;
  }

  /** The next reply of worker k (its request, if any, already sent). */
  private expect(k: number): Promise<ForwardReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending[k] = { resolve, reject };
      this.workers[k]!.ref();
    });
  }

  /**
   * Send part k of the batch (its right-padded ids and lengths, in the request `make` builds) to
   * worker k; the replies in part order.
   */
  private send(batch: readonly TokenWindow[], parts: [number, number][], make: (part: { ids: Int32Array; batch: number; seq: number; lengths: number[] }, range: [number, number]) => { req: ReadRequest | SpliceRequest; transfer: ArrayBuffer[] }): Promise<ForwardReply[]> {
    return Promise.all(
      parts.map(([from, to], k) => {
        const windows = batch.slice(from, to);
        const seq = Math.max(...windows.map((w) => w.tokens.length));
        const ids = new Int32Array(windows.length * seq);
        windows.forEach((w, i) => ids.set(w.tokens, i * seq));
        const { req, transfer } = make({ ids, batch: windows.length, seq, lengths: windows.map((w) => w.tokens.length) }, [from, to]);
        const reply = this.expect(k);
        this.workers[k]!.postMessage(req, transfer);
        return reply;
      }),
    );
  }

  /**
   * The activations at `hooks` for a batch, as readHooks (batches.ts) gives them: per hook a
   * Float32Array [batch, longest, dModel], padding rows zero.
   */
  async readHooks(batch: readonly TokenWindow[], hooks: readonly string[]): Promise<{ longest: number; acts: Float32Array[] }> {
    const points = hooks.map((h) => this.model.hook(h));
    const stop = Math.max(...points.map(hookOrder));
    const d = this.model.config.dModel;
    const lengths = batch.map((w) => w.tokens.length);
    const longest = Math.max(...lengths);
    const parts = splitBatch(lengths, this.workers.length);
    const replies = await this.send(batch, parts, (part) => {
      const req: ReadRequest = { kind: 'read', ...part, hooks: points.map((p) => ({ layer: p.layer, kind: p.kind })), stop };
      return { req, transfer: [part.ids.buffer as ArrayBuffer] };
    });
    const acts = hooks.map(() => new Float32Array(batch.length * longest * d));
    parts.forEach(([from, to], k) => {
      const r = replies[k] as Extract<ForwardReply, { kind: 'acts' }>;
      r.acts.forEach((packed, h) => {
        let at = 0;
        for (let b = from; b < to; b++) {
          acts[h]!.set(packed.subarray(at * d, (at + lengths[b]!) * d), b * longest * d);
          at += lengths[b]!;
        }
      });
    });
    return { longest, acts };
  }

  /**
   * Spliced evaluation of a batch (splice.ts) split over the workers: `variants` and `targets` are
   * packed rows of the whole batch; the scores come back packed the same way.
   */
  async splice(batch: readonly TokenWindow[], hook: string, variants: Float32Array[], targets: Int32Array): Promise<SpliceScores> {
    const p = this.model.hook(hook);
    const d = this.model.config.dModel;
    const lengths = batch.map((w) => w.tokens.length);
    const starts = [0];
    for (const l of lengths) starts.push(starts[starts.length - 1]! + l);
    const parts = splitBatch(lengths, this.workers.length);
    const replies = await this.send(batch, parts, (part, [from, to]) => {
      const [r0, r1] = [starts[from]!, starts[to]!];
      const req: SpliceRequest = { kind: 'splice', ...part, hook: { layer: p.layer, kind: p.kind }, variants: variants.map((v) => v.slice(r0 * d, r1 * d)), targets: targets.slice(r0, r1) };
      return { req, transfer: [part.ids.buffer as ArrayBuffer, ...req.variants.map((v) => v.buffer as ArrayBuffer), req.targets.buffer as ArrayBuffer] };
    });
    const n = starts[batch.length]!;
    const out: SpliceScores = { ce: variants.map(() => new Float64Array(n)), kl: variants.slice(1).map(() => new Float64Array(n)) };
    parts.forEach(([from], k) => {
      const r = replies[k] as Extract<ForwardReply, { kind: 'scores' }>;
      r.ce.forEach((a, v) => out.ce[v]!.set(a, starts[from]!));
      r.kl.forEach((a, v) => out.kl[v]!.set(a, starts[from]!));
    });
    return out;
  }

  async dispose(): Promise<void> {
    this.failure ??= new ModelError('the forward worker pool was closed.');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
