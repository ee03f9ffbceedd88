/**
 * The console's service-entries view a page at a time, in Chromium against a served egresslens over chDB:
 * 120 external hosts make 120 suggestions, shown 50 to a page with the API's total, every suggestion on
 * exactly one page and in the API's order, while Copy all YAML still copies all 120.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { istioLine } from '../helpers/istio-line.js';
import { fluentBitBody, SHOP } from '../helpers/mesh-fixture.js';
import { type ServedApp, startServedApp } from '../helpers/served-app.js';

const TOKEN = 'console-paging-token-0123456789';
const SHOTS = process.env['CONSOLE_SCREENSHOTS'] ?? join(process.cwd(), '.cache', 'screenshots');
const NOW = Date.now();
const HOSTS = 120;

let served: ServedApp;
let base: string;
let browser: Browser;
let context: BrowserContext;
const problems: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  served = await startServedApp({ flags: { authToken: TOKEN } });
  // One host per parent domain, so no two are siblings and none is folded into a wildcard entry.
  const lines = Array.from({ length: HOSTS }, (_, i) => ({
    src: SHOP,
    line: istioLine({
      ts: new Date(NOW - 3_600_000 + i * 1000).toISOString(),
      method: 'GET',
      path: '/v1/items',
      authority: `api.vendor${i}.example`,
      upstreamHost: `198.51.100.${i + 1}:80`,
      cluster: 'PassthroughCluster',
      downstreamLocal: `198.51.100.${i + 1}:80`,
      route: 'allow_any',
      requestId: `paging-${i}`,
    }),
  }));
  await served.postFluentBit(fluentBitBody(lines, NOW), { authorization: `Bearer ${TOKEN}` });
  await served.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(served.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await served?.close();
});

async function serviceEntriesPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${base}/`);
  await page.fill('#login input[name=token]', TOKEN);
  await page.click('#login button[type=submit]');
  await page.locator('#view[data-state=ready]').waitFor();
  await page.goto(`${base}/#/service-entries`);
  await page.locator('#view[data-view="service-entries"][data-state=ready]').waitFor();
  return page;
}

/** The names of the suggestions on screen, in order. */
const shownNames = (page: Page) =>
  page.locator('#entries .entry').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')!));

async function pagerSays(page: Page, text: string): Promise<void> {
  await page.locator('.pager span', { hasText: text }).waitFor();
}

describe('the console shows suggested ServiceEntries a page at a time', () => {
  it('50 to a page with the total, every suggestion once and in the API order, back and forth', async () => {
    const res = await fetch(`${base}/v1/reports/service-entries?format=json&since=24h`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const all = (await res.json()) as { total: number; suggestions: Array<{ name: string }> };
    expect(all.total).toBe(HOSTS);
    const apiOrder = all.suggestions.map((s) => s.name);

    const page = await serviceEntriesPage();
    await pagerSays(page, '1–50 of 120');
    expect(await page.textContent('#view')).toContain('50 of 120 suggestions');
    const first = await shownNames(page);
    expect(first).toHaveLength(50);
    expect(await page.getByRole('button', { name: '‹ previous' }).isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'next ›' }).click();
    await pagerSays(page, '51–100 of 120');
    const second = await shownNames(page);
    await page.getByRole('button', { name: 'next ›' }).click();
    await pagerSays(page, '101–120 of 120');
    const third = await shownNames(page);
    expect(third).toHaveLength(20);
    expect(await page.getByRole('button', { name: 'next ›' }).isDisabled()).toBe(true);
    expect([...first, ...second, ...third]).toEqual(apiOrder);
    await page.screenshot({ path: join(SHOTS, 'console-service-entries-last-page.png'), fullPage: true });

    // Copy all takes every suggestion, whichever page is on screen.
    await page.click('#copy-all');
    await page.locator('#copy-all', { hasText: 'Copied' }).waitFor();
    const copied = String(await page.evaluate('navigator.clipboard.readText()'));
    expect(copied.match(/^kind: ServiceEntry$/gm)).toHaveLength(HOSTS);

    await page.getByRole('button', { name: '‹ previous' }).click();
    await pagerSays(page, '51–100 of 120');
    expect(await shownNames(page)).toEqual(second);
    await page.close();
  });

  it('logged no console errors or page errors', () => {
    expect(problems).toEqual([]);
  });
});
