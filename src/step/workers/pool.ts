import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerReply, WorkerRequest } from './protocol.js';

/**
 * The built worker script. Under vitest this module runs from src/ as TypeScript, but a worker
 * thread needs JavaScript, so it is taken from dist/ (the test command builds first).
 */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  const sep = path.sep;
  const js = here.endsWith('.ts')
    ? here.slice(0, here.lastIndexOf(`${sep}src${sep}`)) + `${sep}dist${sep}` + here.slice(here.lastIndexOf(`${sep}src${sep}`) + 5).replace(/\.ts$/, '.js')
    : here;
  return path.join(path.dirname(js), 'worker.js');
}

type Pending = { resolve: (r: WorkerReply) => void; reject: (e: Error) => void };

/**
 * A fixed set of worker threads, one request in flight per worker. `all` sends one request to
 * every worker and resolves with their replies in worker order; a worker's error rejects it.
 */
export class WorkerPool {
  private readonly workers: Worker[];
  private readonly pending: (Pending | null)[];
  private failure: Error | null = null;

  /**
   * `onFailure`: called when a worker fails or exits (before its pending request rejects), e.g. to
   * release the others from a barrier they share with it.
   */
  constructor(size: number, onFailure?: () => void) {
    const script = workerScript();
    this.workers = Array.from({ length: size }, () => new Worker(script));
    this.pending = this.workers.map(() => null);
    this.workers.forEach((w, k) => {
      w.on('message', (r: WorkerReply) => {
        const p = this.pending[k];
        this.pending[k] = null;
        if (!p) return;
        if (r.kind === 'error') {
          // The worker's stack as the error's stack: shown with --debug, not in the one-paragraph message.
          const err = new Error(`worker ${k}: ${r.message}`);
          if (r.stack) err.stack = `Error: worker ${k}: ${r.stack}`;
          p.reject(err);
        } else p.resolve(r);
      });
      const fail = (e: Error) => {
        this.failure ??= e;
        onFailure?.();
        const p = this.pending[k];
        this.pending[k] = null;
        p?.reject(e);
      };
      w.on('error', (e) => fail(new Error(`worker ${k} failed: ${e.message}`)));
      w.on('exit', (code) => fail(new Error(`worker ${k} exited (code ${code})`)));
    });
  }

  get size(): number {
    return this.workers.length;
  }

  call(k: number, req: WorkerRequest): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending[k] = { resolve, reject };
      this.workers[k]!.postMessage(req);
    });
  }

  /** Send req(k) to every worker k; replies in worker order. */
  all<K extends WorkerReply['kind']>(req: (k: number) => WorkerRequest & { kind: K }): Promise<Extract<WorkerReply, { kind: K }>[]> {
    return Promise.all(this.workers.map((_, k) => this.call(k, req(k)))) as Promise<Extract<WorkerReply, { kind: K }>[]>;
  }

  /**
   * As `all`, but settles only when every worker has answered, then rejects with the first error in
   * worker order if any: for requests whose workers wait on each other (no worker is still
   * running when the caller learns of a failure).
   */
  async every<K extends WorkerReply['kind']>(req: (k: number) => WorkerRequest & { kind: K }): Promise<Extract<WorkerReply, { kind: K }>[]> {
    const settled = await Promise.allSettled(this.workers.map((_, k) => this.call(k, req(k))));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return settled.map((r) => (r as PromiseFulfilledResult<WorkerReply>).value) as Extract<WorkerReply, { kind: K }>[];
  }

  async dispose(): Promise<void> {
    this.failure ??= new Error('worker pool disposed');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
