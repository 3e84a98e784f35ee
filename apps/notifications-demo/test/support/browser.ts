/** Chromium for the browser tests (playwright-core), and what they check on every page. */
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { chromiumPath } from './chromium.ts';

/** One headless Chromium with a fresh profile in `folder`. */
export async function launchBrowser(folder: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(folder, 'chromium-profile'), {
    executablePath: await chromiumPath(),
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1100, height: 800 },
    acceptDownloads: true,
  });
}

/** Nothing on the page is wider than the window (no sideways scrolling). */
export async function expectFits(page: Page, width: number): Promise<void> {
  const scrollWidth = Number(await page.evaluate('document.documentElement.scrollWidth'));
  expect(scrollWidth, page.url()).toBeLessThanOrEqual(width);
}
