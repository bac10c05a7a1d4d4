#!/usr/bin/env node
// The GPU tables of BENCHMARKS.md from what scripts/device/gpu-bench.sh brought back (the folder
// its results.tar unpacks into), so the numbers there are the run's own output:
//
//   node scripts/device/gpu-table.mjs RESULTS_DIR
//
// Reads machine.txt, bench-<config>.json (ours), peer-tf32.json / peer-fp32.json (PyTorch on the
// same GPU in the same sitting), gpu-e2e.json and whole-run.json, whichever are there.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node scripts/device/gpu-table.mjs RESULTS_DIR\n');
  process.exit(2);
}
const read = (f) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  } catch {
    return null;
  }
};
const fmt = (x, digits = 0) => (x === undefined || x === null || !Number.isFinite(x) ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const pct = (a, b) => (a && b ? `${Math.round((100 * a) / b)}%` : '-');

const lines = [];
const machine = fs.existsSync(path.join(dir, 'machine.txt')) ? fs.readFileSync(path.join(dir, 'machine.txt'), 'utf8').trim().split('\n') : [];
if (machine.length) lines.push(`Machine: ${machine[0]}; ${machine[1] ?? '?'} CPU cores; node ${machine[2] ?? '?'}.`, '');

const peer = (file) => Object.fromEntries((read(file) ?? []).map((r) => [r.config, r]));
const [tf32, fp32] = [peer('peer-tf32.json'), peer('peer-fp32.json')];
const torch = Object.values(tf32)[0];
const rows = [];
for (const f of fs.readdirSync(dir).filter((n) => /^bench-[A-Za-z]+(-topk)?\.json$/.test(n) && n !== 'bench-cpu.json').sort()) {
  for (const r of read(f)?.train ?? []) rows.push(r);
}
const order = ['tiny', 'A', 'B', 'C', 'G', 'L'];
/** The data path alone (one thread, Arrow -> shuffled batches) at width d, from data.json. */
const dataAt = (d) => (read('data.json')?.data ?? []).find((r) => r.d === d && r.source.startsWith('synthetic'))?.rowsPerSecond;
rows.sort((a, b) => order.indexOf(a.config) - order.indexOf(b.config) || (a.architecture === 'relu' ? -1 : 1));
if (rows.length) {
  const adapter = rows[0].gpu?.adapter ?? rows[0].backend;
  lines.push(`Ours: \`npm run bench -- --backend webgpu\` (dense step, batch 4096, one process per config) on ${adapter}. PyTorch: ../shared/peers/torch_sae_device.py (the same step: ReLU + L1, Adam, unit-norm decoder)${torch ? `, torch ${torch.torch} on ${torch.gpu}` : ''}, in the same sitting.`, '');
  lines.push('| config | d | m | architecture | ours tokens/s | ms/step | upload ms | compute ms | read ms | GPU MiB | matMul GFLOP/s | data path rows/s | PyTorch TF32 tokens/s | PyTorch float32 tokens/s | ours / TF32 | ours / float32 |');
  lines.push('|' + ' --- |'.repeat(16));
  for (const r of rows) {
    const [t, f] = r.architecture === 'relu' ? [tf32[r.config]?.tokens_per_s, fp32[r.config]?.tokens_per_s] : [undefined, undefined];
    const g = r.gpu ?? {};
    lines.push(
      `| ${r.config} | ${r.d} | ${r.m} | ${r.architecture} | ${fmt(r.tokensPerSecond)} | ${fmt(r.msPerStep?.total, 1)} | ${fmt(g.uploadMs, 1)} | ${fmt(g.computeMs, 1)} | ${fmt(g.readMs, 1)} | ${fmt((g.allocatedBytes ?? NaN) / 2 ** 20)} | ${fmt(r.matMulGflops, 1)} | ${fmt(dataAt(r.d))} | ${fmt(t)} | ${fmt(f)} | ${pct(r.tokensPerSecond, t)} | ${pct(r.tokensPerSecond, f)} |`,
    );
  }
  lines.push('');
}
const e2e = read('gpu-e2e.json');
if (e2e) {
  lines.push(`End to end through the CLI (scripts/device/gpu-e2e.mjs${e2e.smoke ? ', SMOKE sizes' : ''}):`, '');
  lines.push('| check | result | detail |', '| --- | --- | --- |');
  for (const [name, c] of Object.entries(e2e.checks)) {
    const { ok, ...detail } = c;
    lines.push(`| ${name} | ${ok ? 'pass' : 'FAIL'} | ${JSON.stringify(detail).replace(/\|/g, '/').slice(0, 300)} |`);
  }
  if (e2e.error) lines.push(`| (stopped) | FAIL | ${e2e.error.split('\n')[0]} |`);
  lines.push('', 'Seconds per command: ' + Object.entries(e2e.timings).map(([k, v]) => `${k} ${v}`).join(', ') + '.', '');
}
const whole = read('whole-run.json');
for (const { run: r } of whole?.wholeRuns ?? []) {
  lines.push(
    `Whole run ${r.name} (d ${r.d}, m ${r.m}, batch ${r.batch}, ${r.steps} steps, data path and resampling included) on ${r.backend}: ${fmt(r.tokensPerSecond)} tokens/s over the loop (${fmt(r.loopSeconds, 1)} s; steps ${fmt(r.dense.seconds + r.sparse.seconds, 1)} s, other ${fmt(r.otherSeconds, 1)} s), ${fmt(r.wallSeconds, 1)} s from call to return.`,
    '',
  );
}
process.stdout.write(lines.join('\n') + '\n');
