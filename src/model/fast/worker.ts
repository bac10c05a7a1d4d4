/**
 * Worker-thread entry of the parallel forward pass (pool.ts): its own kernel instance holding a
 * copy of the weights (from the pool's shared packed buffer), answering one `read` at a time.
 * No tfjs here: the core pass works on plain arrays.
 */
import { parentPort } from 'node:worker_threads';
import { FastCore } from './core.js';
import { instantiateKernels } from './kernels.js';
import type { ForwardReply, InitRequest, ReadRequest, SpliceRequest } from './protocol.js';
import { spliceScores } from './splice.js';

function reply(r: ForwardReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(r, transfer);
}

function failed(err: unknown): ForwardReply {
  return err instanceof Error ? { kind: 'error', message: err.message, stack: err.stack } : { kind: 'error', message: String(err) };
}

let core: FastCore | null = null;

function init(req: InitRequest): void {
  const { kernels, reason } = instantiateKernels();
  if (!kernels) throw new Error(`the forward kernels cannot run here: ${reason}`);
  core = new FastCore(kernels, req.config, req.weights);
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

parentPort!.on('message', (req: InitRequest | ReadRequest | SpliceRequest) => {
  try {
    if (req.kind === 'init') {
      init(req);
      return reply({ kind: 'ready' });
    }
    if (!core) throw new Error('the worker did not start');
    if (req.kind === 'splice') {
      const { ce, kl } = spliceScores(core, req);
      return reply({ kind: 'scores', ce, kl }, [...ce, ...kl].map((a) => a.buffer as ArrayBuffer));
    }
    const { acts } = read(req);
    reply({ kind: 'acts', acts }, acts.map((a) => a.buffer as ArrayBuffer));
  } catch (err) {
    reply(failed(err));
  }
});
