import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO } from './cli.js';

/**
 * Headless Chromium for the report tests: Debian's `chromium` package (installed by .ci/run),
 * driven by playwright-core; never a browser download. SAE_CHROMIUM overrides the path.
 */
export const CHROMIUM = process.env['SAE_CHROMIUM'] ?? '/usr/bin/chromium';

/** Screenshots of the pages under test (gitignored; CI can keep them as artifacts). */
export const ARTIFACTS = path.join(REPO, 'test-artifacts', 'report');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Start Chromium with a fresh profile (--user-data-dir in a temporary folder). */
export async function openBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install -y chromium; .ci/run does) or set SAE_CHROMIUM.`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1400, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface OpenedPage {
  page: Page;
  /** Console errors and uncaught exceptions. */
  errors: string[];
  /** Requests that failed. */
  failed: string[];
  /** Every request other than the page itself (a self-contained page makes none). */
  requests: string[];
  /** Milliseconds from navigation to the page's script marking itself ready. */
  readyMs: number;
}

/** Open a report file from file:// and wait until its script says it is ready. */
export async function openReport(browser: Browser, file: string): Promise<OpenedPage> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  const failed: string[] = [];
  const requests: string[] = [];
  const url = pathToFileURL(file).href;
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText ?? ''}`));
  page.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
  return { page, errors, failed, requests, readyMs: Date.now() - t0 };
}

export async function screenshot(page: Page, name: string, selector?: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  if (selector) await page.locator(selector).screenshot({ path: file });
  else await page.screenshot({ path: file });
  return file;
}
