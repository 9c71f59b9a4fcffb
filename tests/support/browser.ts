/**
 * Debian's Chromium driven by playwright-core (its own browser download is never used):
 * headless, a fresh profile per launch, no network beyond the test servers. Every page
 * records script errors and Content-Security-Policy violations, so a test can assert none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface TestBrowser {
  context(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** Problems seen on any page: uncaught errors and CSP violations. */
  problems: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // A fresh profile: launch() gives each browser its own new user-data-dir (it refuses one passed in args); downloads go here.
  const profile = mkdtempSync(join(tmpdir(), 'gongjian-chromium-'));
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM_PATH, headless: true, downloadsPath: profile,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const problems: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => { if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`); });
  };
  const contexts: BrowserContext[] = [];
  return {
    problems,
    async context(options = {}) {
      const ctx = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...options });
      ctx.setDefaultTimeout(10_000);
      ctx.on('page', watch);
      contexts.push(ctx);
      return ctx;
    },
    async close() {
      await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A phone: the screen a volunteer taps 接单 on. */
export const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
