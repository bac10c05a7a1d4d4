/**
 * Worker-thread entry of the parallel forward pass (pool.ts): its own kernel instance holding a
 * copy of the weights (from the pool's shared packed buffer), answering one `read` at a time.
 * No tfjs here: the core pass works on plain arrays.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FastCore } from './core.js';
import { instantiateKernels } from './kernels.js';
import type { ForwardReply, ForwardWorkerData, ReadRequest } from './protocol.js';

function reply(r: ForwardReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(r, transfer);
}

function failed(err: unknown): ForwardReply {
  return err instanceof Error ? { kind: 'error', message: err.message, stack: err.stack } : { kind: 'error', message: String(err) };
}

let core: FastCore | null = null;
try {
  const data = workerData as ForwardWorkerData;
  const { kernels, reason } = instantiateKernels();
  if (!kernels) throw new Error(`the forward kernels cannot run here: ${reason}`);
  core = new FastCore(kernels, data.config, data.weights);
  reply({ kind: 'ready' });
} catch (err) {
  reply(failed(err));
}

function read(req: ReadRequest): { acts: Float32Array[] } {
  const d = core!.config.dModel;
  const acts: Float32Array[] = req.hooks.map(() => new Float32Array(0));
  core!.run({
    ids: req.ids,
    batch: req.batch,
    seq: req.seq,
    lengths: req.lengths,
    stop: req.stop,
    onHook: (rows, layer, kind, starts) => {
      req.hooks.forEach((h, i) => {
        if (h.layer === layer && h.kind === kind) acts[i] = rows.slice(0, starts[req.batch]! * d);
      });
    },
  });
  return { acts };
}

parentPort!.on('message', (req: ReadRequest) => {
  if (!core) return reply({ kind: 'error', message: 'the worker did not start' });
  try {
    const { acts } = read(req);
    reply({ kind: 'acts', acts }, acts.map((a) => a.buffer as ArrayBuffer));
  } catch (err) {
    reply(failed(err));
  }
});
