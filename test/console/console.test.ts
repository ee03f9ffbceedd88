/**
 * The web console in a real browser (Debian's Chromium via playwright-core) against a real served
 * egresslens over chDB with a known day of mesh traffic: it loads with no console errors, every chart
 * draws, tables show the fixture's hosts, YAML copy and download work, and a wrong token is refused.
 * Screenshots of each view go to .cache/screenshots/ (CONSOLE_SCREENSHOTS overrides).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleBrowser, SHOTS, startConsoleBrowser } from '../helpers/console-browser.js';
import { meshFixture } from '../helpers/mesh-fixture.js';

const TOKEN = 'console-test-token-0123456789';
const NOW = Date.now();

let cb: ConsoleBrowser;
let base: string;

beforeAll(async () => {
  cb = await startConsoleBrowser({ token: TOKEN, lines: meshFixture(NOW), now: NOW });
  base = cb.base;
});

afterAll(async () => {
  await cb?.close();
});

const signedIn = () => cb.signedIn();

/** How many pixels of a canvas are not blank: a chart that drew something has many. */
async function paintedPixels(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (el) => {
    // Runs in the page (DOM types are not in this project's Node lib).
    const canvas = (el as unknown as { querySelector(s: string): any }).querySelector('canvas');
    if (!canvas) return 0;
    const data: Uint8ClampedArray = canvas
      .getContext('2d')
      .getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return n;
  });
}

async function view(page: Page, name: string): Promise<void> {
  await page.goto(`${base}/#/${name}`);
  await page.locator(`#view[data-view="${name}"][data-state=ready]`).waitFor();
}

describe('the web console in Chromium', () => {
  it('refuses a wrong token and shows no data without one', async () => {
    const page = await cb.watchedPage();
    await page.goto(`${base}/`);
    await page.locator('#login').waitFor({ state: 'visible' });
    expect(await page.locator('#view').getAttribute('data-state')).toBe('signed-out');
    await page.fill('#login input[name=token]', 'not-the-token-at-all-000000');
    await page.click('#login button[type=submit]');
    await page.locator('#login-error').waitFor({ state: 'visible' });
    expect(await page.textContent('#login-error')).toContain('refused');
    expect(await page.locator('#login').isVisible()).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'console-sign-in.png') });
    // The API itself refuses the console's data routes without the token.
    expect((await fetch(`${base}/v1/reports/overview`)).status).toBe(401);
    await page.close();
    // The browser logs a failed fetch's 401 as an error: that one is expected here.
    cb.problems.splice(0);
  });

  it('overview: numbers, a drawn time series and timeout histogram, top hosts and blocked sources', async () => {
    const page = await signedIn();
    await view(page, 'overview');
    expect(await paintedPixels(page, '#chart-series')).toBeGreaterThan(500);
    expect(await paintedPixels(page, '#chart-timeouts')).toBeGreaterThan(500);
    const top = await page.textContent('#top-hosts');
    for (const host of ['api.payments.example', 'www.google.com', 'hooks.slack.example'])
      expect(top).toContain(host);
    const blocked = await page.textContent('#blocked-sources');
    expect(blocked).toContain('invoicer');
    expect(blocked).toContain('indexer');
    expect(await page.textContent('#timeouts')).toContain('inferred timeout 3,000 ms');
    await page.screenshot({ path: join(SHOTS, 'console-overview.png'), fullPage: true });
    await page.close();
  });

  it('hosts: every fixture host, searchable, with the total', async () => {
    const page = await signedIn();
    await view(page, 'hosts');
    const text = await page.textContent('#hosts-results');
    for (const host of [
      'api.payments.example',
      'www.google.com',
      'hooks.slack.example',
      'feeds.news.example',
      'cdn.assets.example',
      'legacy.billing.example',
      'reports.partner.example',
    ])
      expect(text).toContain(host);
    expect(text).not.toContain('reviews.shop');
    await page.screenshot({ path: join(SHOTS, 'console-hosts.png'), fullPage: true });
    await page.fill('input[name=search]', 'google');
    await page.waitForFunction(
      () =>
        !(
          globalThis as unknown as { document: { querySelector(s: string): { textContent: string } } }
        ).document
          .querySelector('#hosts-results')
          .textContent.includes('api.payments.example'),
    );
    const filtered = await page.textContent('#hosts-results');
    expect(filtered).toContain('www.google.com');
    expect(await page.textContent('#hosts-results p')).toBe('1 destination');
    await page.selectOption('select[name=status]', 'blocked');
    await page.fill('input[name=search]', '');
    await page.waitForFunction(
      () =>
        !(
          globalThis as unknown as { document: { querySelector(s: string): { textContent: string } } }
        ).document
          .querySelector('#hosts-results')
          .textContent.includes('www.google.com'),
    );
    const blocked = await page.textContent('#hosts-results');
    expect(blocked).toContain('legacy.billing.example');
    expect(await page.textContent('#hosts-results p')).toBe('2 destinations');
    await page.close();
  });

  it('service entries: YAML per entry, copy and download', async () => {
    const page = await signedIn();
    await view(page, 'service-entries');
    const entries = page.locator('#entries .entry');
    expect(await entries.count()).toBeGreaterThanOrEqual(4);
    const first = entries.first();
    const shown = (await first.locator('pre').textContent())!;
    expect(shown).toContain('kind: ServiceEntry');
    await first.getByRole('button', { name: 'Copy' }).click();
    // The click returns before the page's handler has written the clipboard; it says Copied once it has.
    await first.locator('button', { hasText: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(shown);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-all')]);
    const saved = readFileSync((await download.path())!, 'utf8');
    expect(saved).toContain('kind: ServiceEntry');
    expect(saved).toContain('api.payments.example');
    // The whole YAML is fetched on the first click and kept: the copy is the same text as the download.
    // By id: the entry's own Copy button above still says Copied for 1.5 s when the download is quick.
    await page.click('#copy-all');
    await page.locator('#copy-all', { hasText: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(saved);
    await page.screenshot({ path: join(SHOTS, 'console-service-entries.png'), fullPage: true });
    await page.close();
  });

  it('readiness: a row per namespace, what would be blocked, and a Sidecar to copy', async () => {
    const page = await signedIn();
    await view(page, 'readiness');
    const text = (await page.textContent('#view'))!;
    for (const ns of ['shop', 'billing', 'search']) expect(text).toContain(ns);
    expect(text).toContain('kind: Sidecar');
    expect(text).toContain('mode: REGISTRY_ONLY');
    await page.screenshot({ path: join(SHOTS, 'console-readiness.png'), fullPage: true });
    await page.close();
  });

  it('logged no console errors or page errors', () => {
    expect(cb.problems).toEqual([]);
  });
});
