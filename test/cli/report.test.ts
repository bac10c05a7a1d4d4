import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { HOSTILE_TOKENS, syntheticStats, writeReportRun, writeSweep } from '../report/report-fixture.js';

let dir: string;
beforeAll(() => {
  dir = tmpDir('sae-report-cli-');
});
afterAll(() => rmTmp(dir));

describe('sae report <run>', () => {
  it('writes <run>/report.html atomically and says where, how big and what it could not show', async () => {
    const run = writeReportRun(path.join(dir, 'run'), { stats: syntheticStats({ m: 40, d: 4, vocab: HOSTILE_TOKENS }) });
    const r = await runCli(['report', run]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = path.join(run, 'report.html');
    expect(r.stdout).toMatch(new RegExp(`^report: ${out} \\(\\d+ KB, 40 features\\)\\nopen: file://${out}\\n$`));
    expect(fs.readdirSync(run).filter((f) => f.includes('.partial-'))).toEqual([]);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain("Content-Security-Policy\" content=\"default-src 'none'");
    // No data text reaches the page as markup: a token with '<' appears only escaped.
    for (const t of HOSTILE_TOKENS.filter((x) => x.includes('<'))) expect(html).not.toContain(t);
    expect(html).not.toMatch(/<script(?! type="(application\/json|module)")/);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(html).not.toMatch(/(src|href)="https?:/);
  });

  it('--out and --json; a run without feature statistics still gets a page that says so', async () => {
    const run = writeReportRun(path.join(dir, 'nofeat'));
    const out = path.join(dir, 'pages', 'nofeat.html');
    fs.mkdirSync(path.dirname(out));
    const r = await runCli(['report', run, '--out', out, '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { kind: string; out: string; features: number; bytes: number; missing: { file: string; why: string }[] };
    expect(j.kind).toBe('run');
    expect(j.out).toBe(out);
    expect(j.features).toBe(0);
    expect(j.bytes).toBe(fs.statSync(out).size);
    expect(j.missing.map((m) => path.basename(m.file))).toEqual(['features.json', 'features.arrow']);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain('<code>features.arrow</code>: the run finished but this file (its per-feature statistics, which the feature browser needs) is missing; recompute it with `sae stats');
    expect(html).not.toContain('id="feature-table"');
  });

  it('a hand-made run with only the fields run.json must have, and an odd eval.json, still gets a page', async () => {
    const run = writeReportRun(path.join(dir, 'sparse'));
    fs.writeFileSync(path.join(run, 'run.json'), JSON.stringify({ formatVersion: 1, status: 'failed', reason: 42, d: 4, m: 8, step: 3, totalSteps: 40, dataMetadata: {} }));
    fs.writeFileSync(path.join(run, 'eval.json'), JSON.stringify({ explainedVariance: 0.5, log10DensityHistogram: { edges: 'x' } }));
    const r = await runCli(['report', run]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const html = fs.readFileSync(path.join(run, 'report.html'), 'utf8');
    expect(html).toContain('step 3 of 40, – tokens');
    expect(html).toContain('<span class="badge failed">failed</span> 42');
    expect(html).toContain('<td class="l">explainedVariance</td><td>0.5</td>');
    expect(html).not.toContain('data-chart="density"');
  });

  it('refuses what is not a run or a sweep, in one paragraph, exit 1', async () => {
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    const r = await runCli(['report', empty]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `error: ${empty} is neither a run directory (no run.json) nor a sweep folder (no sweep.json).\n` +
        'hint: Pass a run folder made by `sae train` (e.g. runs/quickstart) or a sweep folder made by `sae sweep`.\n',
    );
    const missing = await runCli(['report', path.join(dir, 'nope')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('does not exist');
    const flag = await runCli(['report', empty, '--examples', 'many']);
    expect(flag.status).toBe(1);
    expect(flag.stderr).toContain('--examples: expected a non-negative integer');
  });

  it('a damaged run.json is an error naming the file, not a stack trace', async () => {
    const run = writeReportRun(path.join(dir, 'damaged'));
    fs.writeFileSync(path.join(run, 'run.json'), '{"formatVersion": 1, "stat');
    const r = await runCli(['report', run]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*run\.json is not valid JSON/);
    expect(r.stderr).not.toContain('    at ');
  });
});

describe('sae report --open', () => {
  it.runIf(process.platform === 'linux')('hands the page to xdg-open, and only warns when there is none', async () => {
    const run = writeReportRun(path.join(dir, 'opened'));
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    const seen = path.join(dir, 'xdg-open-args');
    fs.writeFileSync(path.join(bin, 'xdg-open'), `#!/bin/sh\necho "$@" > ${seen}.tmp && mv ${seen}.tmp ${seen}\n`, { mode: 0o755 });
    const r = await runCli(['report', run, '--open'], { env: { PATH: `${bin}:${process.env['PATH']}` } });
    expect(r.status).toBe(0);
    for (let k = 0; k < 100 && !fs.existsSync(seen); k++) await new Promise((res) => setTimeout(res, 50));
    expect(fs.readFileSync(seen, 'utf8').trim()).toBe(`file://${path.join(run, 'report.html')}`);

    const none = await runCli(['report', run, '--open'], { env: { PATH: path.join(dir, 'empty-path') } });
    expect(none.status).toBe(0);
    expect(none.stderr).toMatch(/^warning: could not open a browser \(xdg-open: spawn xdg-open ENOENT\); open .*report\.html yourself\.\n$/);
  });
});

describe('sae report <sweep>', () => {
  it('writes the sweep page and one page per run, linked relatively', async () => {
    const sweep = writeSweep(path.join(dir, 'sweep'));
    const r = await runCli(['report', sweep, '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { kind: string; out: string; runs: { run: string; out: string }[] };
    expect(j.kind).toBe('sweep');
    expect(j.runs.map((x) => x.run)).toEqual(['l1-1', 'l1-2']);
    for (const x of j.runs) expect(fs.existsSync(x.out)).toBe(true);
    const html = fs.readFileSync(path.join(sweep, 'report.html'), 'utf8');
    expect(html).toContain('href="l1-1/report.html"');
    expect(html).toContain('href="l1-2/report.html"');
  });

  it('a sweep still running (no sweep.json) is read from its plan and runs, and says so', async () => {
    const sweep = writeSweep(path.join(dir, 'sweep-running'), { tabulated: false });
    const r = await runCli(['report', sweep]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('with 2 run page(s)');
    expect(r.stdout).toContain('warning: sweep.json is not written yet');
    const html = fs.readFileSync(path.join(sweep, 'report.html'), 'utf8');
    expect(html).toContain('<td>1</td>'); // sae.l1 of l1-1, from the re-expanded grid
  });
});
