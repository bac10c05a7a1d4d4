#!/usr/bin/env node
// Training end to end on a GPU through the CLI, checked against the CPU (the device machine's
// counterpart of test/cli/webgpu.test.ts, at sizes a real GPU makes quick):
//
//   node scripts/device/gpu-e2e.mjs [OUT_DIR]          (SMOKE=1: tiny sizes, for lavapipe)
//
// 1. configs/quickstart.json (fixtures' stories260K activations, d 64, 512 features, resampling)
//    on webgpu and on wasm with the dense step: metrics per log step and final weights compared.
// 2. The same webgpu run killed with SIGKILL after its first checkpoint and resumed: the final
//    weights must equal the uninterrupted run's bit for bit.
// 3. eval, stats and the SAELens export of the webgpu run, on webgpu, against wasm.
// 4. Synthetic data at d = 512, 8192 features, batch 4096 (config B) trained twice on webgpu:
//    bit-identical weights (the shape where tfjs would otherwise sum with atomics).
// Prints one JSON summary (also written to OUT_DIR/gpu-e2e.json); exits 1 when a check fails.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listCheckpoints } from '../../dist/io/checkpoint/checkpoint.js';
import { readSafetensorsFile } from '../../dist/io/safetensors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const smoke = process.env.SMOKE === '1';
const out = path.resolve(process.argv[2] ?? path.join(root, 'device-out'));
fs.mkdirSync(out, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-gpu-e2e-'));
const cli = path.join(root, 'dist', 'cli', 'main.js');
const summary = { smoke, checks: {}, timings: {}, notes: [] };
const log = (s) => process.stderr.write(`[gpu-e2e ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

function sae(args, what) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  fs.appendFileSync(path.join(out, 'gpu-e2e.log'), `$ sae ${args.join(' ')}\n${r.stderr}${r.stdout.length < 4000 ? r.stdout : ''}\n(${seconds.toFixed(1)} s, exit ${r.status})\n`);
  if (r.status !== 0) throw new Error(`${what}: sae ${args.join(' ')} exited ${r.status}:\n${r.stderr.slice(-2000)}`);
  summary.timings[what] = +seconds.toFixed(2);
  return r;
}
const metrics = (run) =>
  fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => typeof r.step === 'number' && r.loss !== undefined);
const weights = (run) => readSafetensorsFile(path.join(run, 'sae_weights.safetensors')).tensors;
const bitsEqual = (a, b) => Object.keys(a).every((k) => Buffer.compare(Buffer.from(a[k].data.buffer, a[k].data.byteOffset, a[k].data.byteLength), Buffer.from(b[k].data.buffer, b[k].data.byteOffset, b[k].data.byteLength)) === 0);
function worstDiff(a, b) {
  let w = 0;
  for (const k of Object.keys(a)) for (let i = 0; i < a[k].data.length; i++) w = Math.max(w, Math.abs(a[k].data[i] - b[k].data[i]));
  return w;
}
function check(name, ok, detail) {
  summary.checks[name] = { ok, ...detail };
  log(`${ok ? 'ok  ' : 'FAIL'} ${name} ${JSON.stringify(detail)}`);
}

try {
  // 1. quickstart on webgpu and on wasm (dense step: the formulation the GPU runs).
  const steps = smoke ? 40 : 500;
  const every = smoke ? 10 : 100;
  const qs = (run, backend, extra = []) => [
    'train', '--config', 'configs/quickstart.json', '--out', run, '--backend', backend, '--force',
    '--set', `train.steps=${steps}`, '--set', `output.checkpointEverySteps=${every}`, '--set', `resample.every=${every}`, '--set', `resample.deadWindow=${every / 2}`,
    '--set', `train.logEvery=${smoke ? 5 : 25}`, ...extra,
  ];
  const gpu = path.join(work, 'gpu');
  const cpu = path.join(work, 'cpu');
  const g = sae(qs(gpu, 'webgpu'), 'quickstart webgpu');
  summary.adapter = (g.stderr.match(/^backend: webgpu on .*$/m) ?? [''])[0];
  sae(qs(cpu, 'wasm', ['--set', 'train.kernel=dense', '--set', 'train.workers=0']), 'quickstart wasm dense');
  const [gm, cm] = [metrics(gpu), metrics(cpu)];
  let worst = 0;
  let at = null;
  for (let i = 0; i < Math.min(gm.length, cm.length); i++) {
    for (const k of ['loss', 'mse', 'l0', 'explainedVariance']) {
      const rel = Math.abs(gm[i][k] - cm[i][k]) / Math.max(1, Math.abs(cm[i][k]));
      if (rel > worst) [worst, at] = [rel, `${k} at step ${gm[i].step}`];
    }
  }
  check('webgpu follows wasm (metrics per log step, relative)', gm.length === cm.length && gm.length > 0 && worst < 2e-2, { logged: gm.length, worst, at });
  const evalOf = (run) => JSON.parse(fs.readFileSync(path.join(run, 'eval.json'), 'utf8'));
  const [ge, ce] = [evalOf(gpu), evalOf(cpu)];
  summary.quickstart = { webgpu: { ev: ge.explainedVariance, l0: ge.l0, dead: ge.deadFraction }, wasm: { ev: ce.explainedVariance, l0: ce.l0, dead: ce.deadFraction } };
  check('final held-out EV agrees', Math.abs(ge.explainedVariance - ce.explainedVariance) < 0.02, summary.quickstart);
  summary.quickstart.maxWeightDiff = worstDiff(weights(gpu), weights(cpu));

  // 2. SIGKILL after the first checkpoint, then --resume (on the backend run.json records).
  const killed = path.join(work, 'gpu-killed');
  const child = spawn(process.execPath, [cli, ...qs(killed, 'webgpu')], { cwd: root, stdio: 'ignore' });
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (fs.existsSync(killed) && listCheckpoints(killed).length > 0) {
        clearInterval(poll);
        child.kill('SIGKILL');
        resolve();
      } else if (performance.now() - t0 > 120_000) {
        clearInterval(poll);
        reject(new Error('no checkpoint within 120 s'));
      }
    }, 20);
    child.on('exit', (code, sig) => {
      if (sig !== 'SIGKILL') {
        clearInterval(poll);
        reject(new Error(`the run to kill ended by itself (exit ${code}) before a checkpoint was seen`));
      }
    });
  });
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.on('exit', r)));
  const resumed = sae(['train', '--resume', killed], 'resume webgpu');
  summary.resumedFrom = (resumed.stderr.match(/resuming .* from step (\d+)/) ?? [])[1] ?? null;
  check('SIGKILL + resume ends bit for bit where the uninterrupted run does', summary.resumedFrom !== null && bitsEqual(weights(gpu), weights(killed)), { resumedFrom: summary.resumedFrom });

  // 3. eval, stats and export of the webgpu run.
  const evalData = 'fixtures/stories260k-L2-eval-2k.arrow';
  const e = ['webgpu', 'wasm'].map((b) => JSON.parse(sae(['eval', gpu, '--data', evalData, '--backend', b, '--json'], `eval ${b}`).stdout).metrics);
  check('sae eval agrees on webgpu and wasm', Math.abs(e[0].mse - e[1].mse) <= 1e-3 * Math.max(1, e[1].mse) && Math.abs(e[0].l0 - e[1].l0) < 1e-2, { webgpu: { mse: e[0].mse, l0: e[0].l0 }, wasm: { mse: e[1].mse, l0: e[1].l0 } });
  const s = ['webgpu', 'wasm'].map((b) => JSON.parse(sae(['stats', gpu, '--data', evalData, '--backend', b, '--out', path.join(work, `f-${b}.arrow`), '--json'], `stats ${b}`).stdout).summary);
  check('sae stats agrees on webgpu and wasm', s[0].dead === s[1].dead && Math.abs(s[0].l0 - s[1].l0) < 1e-2, { webgpu: { dead: s[0].dead, l0: s[0].l0 }, wasm: { dead: s[1].dead, l0: s[1].l0 } });
  sae(['export-dictionary', gpu, '--format', 'saelens', '--out', path.join(work, 'export'), '--json'], 'export saelens');
  check('SAELens export written', fs.existsSync(path.join(work, 'export', 'sae_weights.safetensors')) && fs.existsSync(path.join(work, 'export', 'cfg.json')), {});

  // 4. Config B's shape, twice: the same bits (no atomics in the sums).
  const [dim, width, batch, rows, bSteps] = smoke ? [32, 64, 512, 4096, 6] : [512, 8192, 4096, 65536, 60];
  const data = path.join(work, 'synth');
  sae(['synth', '--out', data, '--rows', String(rows), '--eval-rows', '4096', '--dim', String(dim), '--features', String(width / 2), '--active', '16', '--force'], 'synth B');
  const cfgB = path.join(work, 'b.json');
  fs.writeFileSync(cfgB, JSON.stringify({
    data: { train: path.join(data, 'activations.arrow'), eval: path.join(data, 'eval.arrow') },
    sae: { width, l1: 1 },
    train: { steps: bSteps, batchSize: batch, logEvery: Math.max(1, bSteps / 6) },
    resample: { every: bSteps / 2, until: 0.75 },
    output: { checkpointEverySteps: 0, checkpointEveryMinutes: 0, statsRows: 4096 },
  }));
  const runB = (name) => {
    const r = sae(['train', '--config', cfgB, '--out', path.join(work, name), '--backend', 'webgpu', '--force'], `train B ${name}`);
    return { dir: path.join(work, name), info: JSON.parse(fs.readFileSync(path.join(work, name, 'run.json'), 'utf8')), stderr: r.stderr };
  };
  const b1 = runB('b1');
  const b2 = runB('b2');
  summary.configB = { steps: bSteps, seconds: summary.timings['train B b1'], ev: JSON.parse(fs.readFileSync(path.join(b1.dir, 'eval.json'), 'utf8')).explainedVariance };
  check('config B twice on webgpu: identical bits', bitsEqual(weights(b1.dir), weights(b2.dir)), { maxDiff: worstDiff(weights(b1.dir), weights(b2.dir)) });
} catch (err) {
  summary.error = err instanceof Error ? err.message : String(err);
  log(`ERROR ${summary.error}`);
} finally {
  fs.writeFileSync(path.join(out, 'gpu-e2e.json'), JSON.stringify(summary, null, 1));
  process.stdout.write(JSON.stringify(summary) + '\n');
  fs.rmSync(work, { recursive: true, force: true });
}
const failed = summary.error || Object.values(summary.checks).some((c) => !c.ok);
process.exit(failed ? 1 : 0);
