#!/usr/bin/env node
// Regenerates the README's example outputs from the current code, or checks that they match.
//
//   node scripts/readme-examples.mjs          rewrite the blocks in README.md
//   node scripts/readme-examples.mjs --check  exit 1 (with a diff) when a block differs
//
// A block is a ``` fence right after a marker line
//   <!-- readme-example: sae <args> [| keep HEAD+TAIL] -->
// Its content is what `sae <args>` prints (stderr, then stdout), run from a scratch folder
// holding configs/ and fixtures/ of this checkout (so `runs/...` paths read as in the README).
// `keep 7+6` keeps the first 7 and last 6 lines with a `...` line between. Commands run in
// the README's order, so a block can use a run an earlier block trained. Timings and speeds
// (tok/s, eta, "in 45s") vary from machine to machine and are compared as placeholders; progress
// lines printed by the clock are left out (dropTimedProgress).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const README = path.join(REPO, 'README.md');
const BIN = path.join(REPO, 'bin', 'sae.js');
const MARKER = /^<!-- readme-example: (?:npx )?sae (.+?)(?: \| keep (\d+)\+(\d+))? -->$/;

/** Split a command line on spaces, keeping "quoted strings" whole. */
export function splitArgs(line) {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/** Timings and speeds as placeholders, so that two machines' outputs compare equal. */
export function normalise(text) {
  return text
    .replace(/\b\d+ tok\/s/g, 'N tok/s')
    .replace(/\b\d+ tokens\/s/g, 'N tokens/s')
    .replace(/\beta \S+/g, 'eta T')
    .replace(/ in (\d+m)?\d+(\.\d+)?s on /g, ' in T on ')
    .replace(/[ \t]+$/gm, '');
}

/** The README's example blocks: marker line index, fence start/end line indices, command. */
export function findBlocks(lines) {
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]);
    if (!m) continue;
    if (!lines[i + 1]?.startsWith('```')) throw new Error(`README.md:${i + 1}: a readme-example marker must be followed by a \`\`\` fence`);
    let end = i + 2;
    while (end < lines.length && !lines[end].startsWith('```')) end++;
    if (end >= lines.length) throw new Error(`README.md:${i + 2}: unclosed fence`);
    blocks.push({ marker: i, start: i + 1, end, args: splitArgs(m[1]), keep: m[2] ? [Number(m[2]), Number(m[3])] : null });
  }
  return blocks;
}

/**
 * Plain progress lines (`step 25/500 ...`, `harvest [###...] 700/2048 tokens ...`) come at most
 * every few seconds of wall-clock time, so which of them appear depends on the machine: all but a
 * run's last are left out.
 */
export function dropTimedProgress(lines) {
  const progress = /^(?:step (\d+)\/(\d+) |\w+ \[[#.]+\] (\d+)\/(\d+) tokens )/;
  const out = [];
  for (const line of lines) {
    const m = progress.exec(line);
    if (m && (m[1] ?? m[3]) !== (m[2] ?? m[4])) continue;
    out.push(line);
  }
  return out;
}

function keepLines(text, keep) {
  const lines = dropTimedProgress(text.replace(/\n+$/, '').split('\n'));
  if (!keep || lines.length <= keep[0] + keep[1]) return lines;
  return [...lines.slice(0, keep[0]), '...', ...lines.slice(lines.length - keep[1])];
}

function scratchFolder() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-readme-'));
  for (const d of ['configs', 'fixtures']) fs.symlinkSync(path.join(REPO, d), path.join(dir, d), 'dir');
  return dir;
}

function run(args, cwd) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`sae ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  // The progress bar is a terminal-only feature; in a pipe each update is a plain line.
  // Commands that print absolute run paths show them relative to the scratch folder, as typed.
  return (r.stderr + r.stdout).replace(/\r/g, '').split(cwd + path.sep).join('');
}

function main() {
  const check = process.argv.includes('--check');
  const text = fs.readFileSync(README, 'utf8');
  const lines = text.split('\n');
  const blocks = findBlocks(lines);
  const cwd = scratchFolder();
  const mismatches = [];
  try {
    // Replace from the last block up, so earlier line indices stay valid.
    const outputs = blocks.map((b) => keepLines(run(b.args, cwd), b.keep));
    for (let k = blocks.length - 1; k >= 0; k--) {
      const b = blocks[k];
      const want = outputs[k];
      const have = lines.slice(b.start + 1, b.end);
      if (normalise(have.join('\n')) !== normalise(want.join('\n'))) mismatches.push({ b, have, want });
      lines.splice(b.start + 1, b.end - b.start - 1, ...want);
    }
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
  if (check) {
    for (const { b, have, want } of mismatches.reverse()) {
      console.error(`README.md:${b.marker + 1}: sae ${b.args.join(' ')} prints something else now.`);
      const h = normalise(have.join('\n')).split('\n');
      const w = normalise(want.join('\n')).split('\n');
      for (let i = 0; i < Math.max(h.length, w.length); i++) {
        if (h[i] !== w[i]) console.error(`  line ${i + 1}:\n    README: ${h[i] ?? '(none)'}\n    now:    ${w[i] ?? '(none)'}`);
      }
    }
    if (mismatches.length) {
      console.error(`${mismatches.length} of ${blocks.length} README example(s) out of date: run \`npm run readme\` and review the diff.`);
      process.exit(1);
    }
    console.error(`README examples: all ${blocks.length} match the current code.`);
    return;
  }
  fs.writeFileSync(README, lines.join('\n'));
  console.error(`README examples: ${blocks.length} regenerated, ${mismatches.length} changed.`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
