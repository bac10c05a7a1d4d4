/**
 * The report pages in a real browser (headless Chromium from Debian's package, see
 * test/helpers/browser.ts): opened from file://, they must make no request and log no error, draw
 * every chart, list one table row per feature, sort, open a feature's card with its highlighted
 * token, never run text from the data, and stay quick at 16,384 features.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFeatureStats, writeFeatureStats } from '../../src/features/table.js';
import type { RunPageData } from '../../src/report/feature-payload-types.js';
import { CURVES } from '../../src/report/run-page.js';
import { openBrowser, openReport, screenshot, type Browser, type OpenedPage } from '../helpers/browser.js';
import { REPO, rmTmp, runCli, tmpDir } from '../helpers/cli.js';
import { randomWeights } from '../helpers/tensors.js';
import { makeFakeRun } from '../io/fake-run.js';
import { STORIES_260K } from '../model/model-files.js';
import { truncateLastLine } from '../resample/run-fixture.js';
import { HOSTILE_TOKENS, syntheticStats, writeFreshRun, writeReportRun, writeSweep } from './report-fixture.js';

let browser: Browser;
let dir: string;
beforeAll(async () => {
  browser = await openBrowser();
  dir = tmpDir('sae-report-browser-');
});
afterAll(async () => {
  await browser?.close();
  rmTmp(dir);
});

async function report(target: string, ...flags: string[]): Promise<string> {
  const r = await runCli(['report', target, ...flags]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return path.join(target, 'report.html');
}

function expectClean(o: OpenedPage): void {
  expect(o.errors).toEqual([]);
  expect(o.failed).toEqual([]);
  expect(o.requests).toEqual([]);
}

const rowCount = (o: OpenedPage) => o.page.locator('#feature-table .rows > .row').count();

describe('a run page in Chromium', () => {
  it('a real training run: every curve drawn, one row per feature, sorting, a card with the activating token; screenshots', async () => {
    const run = path.join(dir, 'trained');
    const t = await runCli(['train', '--config', path.join(REPO, 'configs', 'quickstart.json'), '--set', 'train.steps=200', '--out', run, '--force'], { timeoutMs: 400_000 });
    expect(t.status, t.stderr).toBe(0);
    const o = await openReport(browser, await report(run));
    const { page } = o;
    const metrics = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').length;
    for (const c of CURVES) {
      const chart = page.locator(`svg[data-chart="${c.key}"]`);
      expect(await chart.getAttribute('data-series'), c.key).toBe('1');
      const d = await chart.locator('g.series path').getAttribute('d');
      expect((d ?? '').split(/[ML]/).length - 1, c.key).toBe(metrics); // one vertex per metrics record
      const box = await chart.locator('g.series path').boundingBox();
      expect(box!.width, c.key).toBeGreaterThan(100);
    }
    expect(await page.locator('svg[data-chart="density"] g.series rect').count()).toBe(20);
    expect(await page.locator('svg[data-chart="loss"] line.marker').count()).toBeGreaterThan(0); // resampling events (steps 100, 200)
    const m = (JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8')) as { m: number }).m;
    // The kernel and workers the newest checkpoint recorded (step 200, the end of this run).
    const state = JSON.parse(fs.readFileSync(path.join(run, 'checkpoints', 'step-00000200', 'state.json'), 'utf8')) as { components: { kernel: { current: string; workerThreads: number } } };
    expect(await page.textContent('#run .kernel')).toBe(`${state.components.kernel.current} x${state.components.kernel.workerThreads} workers`);
    expect(await rowCount(o)).toBe(m);

    // Sort by max activation: largest first, then smallest first.
    const maxCol = 1 + ['index', 'frequency', 'log10Density', 'meanActivation'].length;
    const column = async (k: number) => page.$$eval(`#feature-table .rows > .row span:nth-child(${k})`, (tds) => tds.slice(0, 50).map((td) => Number(td.textContent)));
    await page.click('#feature-table .head > [data-key="maxActivation"]');
    const desc = await column(maxCol);
    expect(desc).toEqual([...desc].sort((a, b) => b - a));
    expect(await page.getAttribute('#feature-table .head > [data-key="maxActivation"]', 'aria-sort')).toBe('descending');
    await page.click('#feature-table .head > [data-key="maxActivation"]');
    const asc = await column(maxCol);
    expect(asc).toEqual([...asc].sort((a, b) => a - b));
    expect(await rowCount(o)).toBe(m);

    // The card of feature 17: its top examples, the activating token marked, its activation on hover.
    const stats = readFeatureStats(run);
    const top = stats.topExamples[17]!.slice(0, 10);
    await page.fill('#filter', '17');
    expect(await page.locator('#feature-table .rows > .row:not([hidden])').count()).toBe(1);
    await page.click('#feature-table .row[data-i="17"]');
    await page.waitForSelector('#card[data-feature="17"]');
    expect(await page.textContent('#card h3')).toMatch(/^Feature 17/);
    const marks = page.locator('#card mark');
    expect(await marks.count()).toBe(top.length);
    expect(await marks.allTextContents()).toEqual(top.map((e) => e.context[e.focus]));
    expect(await marks.first().getAttribute('title')).toBe(`activation ${Number(top[0]!.activation.toPrecision(4))}`);
    expect(await page.locator('#card svg[data-chart="activation-histogram"] g.series rect').count()).toBe(10);
    await page.fill('#filter', '');
    expect(await page.locator('#feature-table .rows > .row:not([hidden])').count()).toBe(m);
    // The nearest feature's link opens its card.
    const near = stats.nearestIndex[17]!;
    await page.click(`#card .nearest button[data-feature="${near}"]`);
    await page.waitForSelector(`#card[data-feature="${near}"]`);

    await screenshot(page, 'run-page.png');
    await page.click('#feature-table .row[data-i="17"]');
    await page.locator('#features').scrollIntoViewIfNeeded();
    await screenshot(page, 'feature-card.png', '#browser');
    expectClean(o);
  }, 600_000);

  it('--model: a card lists the 10 tokens its decoder direction promotes and the 10 it suppresses, as text', async () => {
    const w = randomWeights(64, 6, 3);
    const run = makeFakeRun(path.join(dir, 'with-model'), w);
    writeFeatureStats(run, syntheticStats({ m: w.m, d: w.d }));
    const o = await openReport(browser, await report(run, '--model', STORIES_260K));
    const { page } = o;
    await page.click('#feature-table .row[data-i="1"]');
    await page.waitForSelector('#card[data-feature="1"]');
    const strings = (JSON.parse((await page.textContent('#report-data'))!) as RunPageData).features!.strings;
    const promoted = await page.locator('#card .logits .promoted li code').allTextContents();
    const suppressed = await page.locator('#card .logits .suppressed li code').allTextContents();
    expect(promoted).toHaveLength(10);
    expect(suppressed).toHaveLength(10);
    for (const t of [...promoted, ...suppressed]) expect(strings).toContain(t);
    expect(await page.textContent('#card .logits .promoted h4')).toContain('stories260K.gguf');
    expectClean(o);
  });

  it('text from the data is shown as text, never run as markup', async () => {
    const run = writeReportRun(path.join(dir, 'hostile'), { stats: syntheticStats({ m: 40, d: 4, vocab: HOSTILE_TOKENS }) });
    const o = await openReport(browser, await report(run));
    const { page } = o;
    await page.click('#feature-table .row[data-i="1"]');
    const marks = await page.locator('#card mark').allTextContents();
    expect(marks).toEqual(Array.from({ length: 10 }, (_, k) => HOSTILE_TOKENS[k % HOSTILE_TOKENS.length]));
    expect(await page.locator('#card img, #card b, #card script').count()).toBe(0);
    expect(await page.textContent('#feature-table .row[data-i="1"] span.tok')).toContain('"\\"&<>"');
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    // Flags filter: features 3, 13, 23, 33 are dead.
    await page.check('#hide-dead');
    expect(await page.textContent('#shown-count')).toBe('36 of 40 shown');
    expectClean(o);
  });

  it('a run without features.arrow, a fresh run and an interrupted run with a truncated log say what is missing', async () => {
    const nofeat = await openReport(browser, await report(writeReportRun(path.join(dir, 'nofeat'))));
    expect(await nofeat.page.textContent('#missing')).toContain('features.arrow: the run finished but this file');
    expect(await nofeat.page.locator('#feature-table').count()).toBe(0);
    expect(await nofeat.page.locator('svg[data-chart="loss"]').getAttribute('data-series')).toBe('1');
    expectClean(nofeat);

    const fresh = await openReport(browser, await report(writeFreshRun(path.join(dir, 'fresh'))));
    expect(await fresh.page.textContent('#missing')).toContain('metrics.jsonl: no metrics yet');
    for (const c of CURVES) expect(await fresh.page.locator(`svg[data-chart="${c.key}"]`).getAttribute('data-series')).toBe('0');
    expect(await fresh.page.textContent('#run')).toContain('running');
    expectClean(fresh);

    const run = writeReportRun(path.join(dir, 'interrupted'), { stopAt: 23, eval: false });
    truncateLastLine(path.join(run, 'metrics.jsonl'));
    const cut = await openReport(browser, await report(run));
    expect(await cut.page.textContent('#missing')).toContain('metrics.jsonl: the last line is incomplete');
    const d = await cut.page.locator('svg[data-chart="loss"] g.series path').getAttribute('d');
    expect((d ?? '').split(/[ML]/).length - 1).toBe(3);
    expectClean(cut);
  });

  it('16,384 features: bounded size, interactive within 10 s, sorting and a card stay quick', async () => {
    const m = 16_384;
    const stats = syntheticStats({ m, d: 64, topK: 20, contextTokens: 8 });
    const run = writeReportRun(path.join(dir, 'wide'), { stats });
    const file = await report(run);
    const bytes = fs.statSync(file).size;
    // Stated bound: under 1.5 MB per thousand features with 10 examples of 17 tokens each.
    expect(bytes).toBeLessThan((m / 1000) * 1.5 * 2 ** 20);
    const o = await openReport(browser, file);
    expect(o.readyMs).toBeLessThan(10_000);
    expect(await rowCount(o)).toBe(m);
    // Milliseconds the click's handler takes (sorting and the card are synchronous).
    const clickMs = (selector: string) =>
      o.page.evaluate(`(() => { const t = performance.now(); document.querySelector(${JSON.stringify(selector)}).click(); return performance.now() - t; })()`) as Promise<number>;
    const sortMs = await clickMs('#feature-table .head > [data-key="frequency"]');
    expect(sortMs).toBeLessThan(3_000);
    const cardMs = await clickMs('#feature-table .row[data-i="16000"]');
    expect(cardMs).toBeLessThan(500);
    expect(await o.page.locator('#card mark').count()).toBe(Math.min(10, stats.topExamples[16000]!.length));
    console.log(`16k-feature report: ${(bytes / 2 ** 20).toFixed(1)} MB, ready in ${o.readyMs} ms, sort ${sortMs.toFixed(0)} ms, card ${cardMs.toFixed(0)} ms`);
    expectClean(o);
  }, 300_000);
});

describe('a sweep page in Chromium', () => {
  it('draws the frontier, one point per run, linked to each run page', async () => {
    const sweep = writeSweep(path.join(dir, 'sweep'));
    const o = await openReport(browser, await report(sweep));
    const { page } = o;
    expect(await page.locator('svg[data-chart="frontier"] .point').count()).toBe(2);
    expect(await page.locator('#sweep-table tbody tr').count()).toBe(2);
    expectClean(o);
    await page.click('svg[data-chart="frontier"] a.point circle >> nth=1');
    await page.waitForSelector('body[data-ready]');
    expect(page.url()).toMatch(/\/l1-(1|2)\/report\.html$/);
    expect(await page.locator('#feature-table .rows > .row').count()).toBeGreaterThan(0);
    expect(o.errors).toEqual([]);
  });
});
