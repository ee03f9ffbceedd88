/**
 * The console's service-entries view a page at a time, in Chromium against a served egresslens over chDB:
 * 120 external hosts make 120 suggestions, shown 50 to a page with the API's total, every suggestion on
 * exactly one page and in the API's order, while Copy all YAML still copies all 120.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleBrowser, SHOTS, startConsoleBrowser } from '../helpers/console-browser.js';
import { istioLine } from '../helpers/istio-line.js';
import { SHOP } from '../helpers/mesh-fixture.js';

const TOKEN = 'console-paging-token-0123456789';
const NOW = Date.now();
const HOSTS = 120;

let cb: ConsoleBrowser;

beforeAll(async () => {
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
  cb = await startConsoleBrowser({ token: TOKEN, lines, now: NOW });
});

afterAll(async () => {
  await cb?.close();
});

async function serviceEntriesPage(): Promise<Page> {
  const page = await cb.signedIn();
  await page.goto(`${cb.base}/#/service-entries`);
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
    const res = await fetch(`${cb.base}/v1/reports/service-entries?format=json&since=24h`, {
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

  it('a page that arrives after the user went to another view does not replace that view', async () => {
    const page = await serviceEntriesPage();
    // Hold the next page's answer until the hosts view is on screen.
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let answered!: () => void;
    const pageAnswered = new Promise<void>((r) => {
      answered = r;
    });
    await page.route(/\/v1\/reports\/service-entries\?.*offset=50/, async (route) => {
      await released;
      await route.continue();
    });
    page.on('requestfinished', (r) => {
      if (/offset=50/.test(r.url())) answered();
    });
    await page.getByRole('button', { name: 'next ›' }).click();
    await page.goto(`${cb.base}/#/hosts`);
    await page.locator('#view[data-view="hosts"][data-state=ready]').waitFor();
    release();
    await pageAnswered;
    // Give the page's handler a turn to (wrongly) draw the late answer.
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))');
    expect(await page.textContent('#view h1')).toBe('External hosts');
    expect(await page.locator('#entries').count()).toBe(0);
    await page.close();
  });

  it('logged no console errors or page errors', () => {
    expect(cb.problems).toEqual([]);
  });
});
