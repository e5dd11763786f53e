import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Headless Chromium for page tests: Debian's `chromium` package (/usr/bin/chromium, installed by
 * .ci/run when missing), driven by playwright-core. No browser is downloaded.
 */

export const CHROMIUM = process.env['REBOND_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

export interface TestBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // A fresh profile each time; playwright passes it as --user-data-dir.
  const profile = mkdtempSync(join(tmpdir(), 'rebond-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    env: { ...process.env, HOME: profile },
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A new browser context (its own cookies) at a laptop's screen size. */
export async function newContext(b: TestBrowser): Promise<BrowserContext> {
  const context = await b.browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(20_000);
  context.setDefaultNavigationTimeout(30_000);
  return context;
}

/** Signs in through the form as a person would, starting from the page asked for. */
export async function signIn(page: Page, base: string, token: string, path = '/campaigns'): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.fill('input[name=token]', token);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
}
