/**
 * A served egresslens over chDB holding given mesh lines, listening on loopback, and a Chromium context for
 * its console: what each console test file starts from. Every page opened through it has its console
 * errors, warnings and page errors collected in `problems`, for the file's last test to assert empty.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { launchChromium } from './browser.js';
import { count } from './lines.js';
import { type FixtureLine, fluentBitBody } from './mesh-fixture.js';
import { type ServedApp, startServedApp } from './served-app.js';

/** Where the console tests write their screenshots (CONSOLE_SCREENSHOTS overrides). */
export const SHOTS = process.env['CONSOLE_SCREENSHOTS'] ?? join(process.cwd(), '.cache', 'screenshots');

export interface ConsoleBrowser {
  served: ServedApp;
  /** `http://127.0.0.1:<port>` */
  base: string;
  context: BrowserContext;
  problems: string[];
  /** A new page whose problems are collected. */
  watchedPage(): Promise<Page>;
  /** A watched page, signed in with the token, its first view ready. */
  signedIn(): Promise<Page>;
  close(): Promise<void>;
}

export async function startConsoleBrowser(opts: {
  token: string;
  lines: FixtureLine[];
  now: number;
}): Promise<ConsoleBrowser> {
  mkdirSync(SHOTS, { recursive: true });
  const served = await startServedApp({ flags: { authToken: opts.token } });
  let browser: Browser | undefined;
  try {
    await served.postFluentBit(fluentBitBody(opts.lines, opts.now), {
      authorization: `Bearer ${opts.token}`,
    });
    expect(await count(served.store, 'access_log')).toBe(opts.lines.length);
    await served.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(served.app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    const context = await browser.newContext({
      viewport: { width: 1360, height: 900 },
      acceptDownloads: true,
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const problems: string[] = [];
    const watchedPage = async () => {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      return page;
    };
    const opened = browser;
    return {
      served,
      base,
      context,
      problems,
      watchedPage,
      async signedIn() {
        const page = await watchedPage();
        await page.goto(`${base}/`);
        await page.locator('#login').waitFor({ state: 'visible' });
        await page.fill('#login input[name=token]', opts.token);
        await page.click('#login button[type=submit]');
        await page.locator('#view[data-state=ready]').waitFor();
        return page;
      },
      async close() {
        await context.close();
        await opened.close();
        await served.close();
      },
    };
  } catch (err) {
    await browser?.close();
    await served.close();
    throw err;
  }
}
