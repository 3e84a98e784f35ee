/**
 * A person's view, in Debian's Chromium driven by playwright-core: sign up, log in, ask for
 * a report and watch it turn completed without reloading. Leaves a screenshot of the
 * reports page and a PNG of the PDF's first page in test-artifacts/.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  APP_DIR,
  migrate,
  pdfToText,
  startApp,
  startWorker,
  temporaryFolder,
  type RunningApp,
  type RunningProcess,
} from './support/processes.ts';
import { recipients, startSmtpServer, type Inbox } from './support/smtp.ts';

const run = promisify(execFile);
const ARTIFACTS = join(APP_DIR, 'test-artifacts');

let inbox: Inbox;
let app: RunningApp;
let worker: RunningProcess;
let folder: ReturnType<typeof temporaryFolder>;
let browser: BrowserContext;

beforeAll(async () => {
  folder = temporaryFolder('demo-browser-');
  inbox = await startSmtpServer();
  const env = {
    // What ./dev demo runs: the database backend with a worker process beside the web server.
    TASK_BACKEND: 'database',
    DATABASE_URL: `sqlite:${join(folder.path, 'db.sqlite3')}`,
    MEDIA_ROOT: join(folder.path, 'media'),
    EMAIL_BACKEND: 'smtp',
    EMAIL_PORT: String(inbox.port),
    WORKER_CONCURRENCY: '1',
  };
  await migrate(env);
  app = await startApp(env);
  worker = await startWorker(env);
  browser = await chromium.launchPersistentContext(join(folder.path, 'chromium-profile'), {
    executablePath: '/usr/bin/chromium',
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
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await app?.stop();
  await inbox?.close();
  folder?.remove();
});

it('signs up, logs in, creates a report and sees it completed without reloading', async () => {
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') violations.push(message.text());
  });

  await page.goto(app.url);
  await page.fill('#signup input[name=name]', 'Grace Hopper');
  await page.fill('#signup input[name=email]', 'grace@example.com');
  await page.fill('#signup input[name=password]', 'cobol-forever-59');
  await page.click('#signup button[type=submit]');
  await page.waitForURL(`${app.url}/?message=registered`);
  await expect.poll(() => page.textContent('[role=status]')).toContain('Check your email');
  const welcome = await inbox.waitFor((m) => recipients(m).includes('grace@example.com'));
  expect(welcome.subject).toBe('Welcome to the djtasks demo');

  await page.fill('#login input[name=email]', 'grace@example.com');
  await page.fill('#login input[name=password]', 'cobol-forever-59');
  await page.click('#login button[type=submit]');
  await page.waitForURL(`${app.url}/reports`);
  expect(await page.textContent('header')).toContain('Grace Hopper');

  // Hold outgoing mail: the worker's only slot waits on the "being generated" email, so the
  // page is seen with the report still pending.
  inbox.hold();
  await page.fill('#new-report input[name=title]', 'Bugs found per week');
  await page.fill(
    '#new-report textarea[name=data]',
    'Week 1, 3\nWeek 2, 8\nWeek 3, 5\nWeek 4, 13\nWeek 5, 2\nWeek 6, 9',
  );
  await page.click('#new-report button[type=submit]');
  const row = page.locator('#reports tbody tr').first();
  await row.locator('[data-role=status]', { hasText: 'pending' }).waitFor();
  expect(await page.textContent('#report-message')).toMatch(/Report #\d+ accepted \(processing\)/);
  const url = page.url();
  inbox.release();

  // The page polls and updates itself: no reload, no navigation.
  await row.locator('[data-role=status]', { hasText: 'completed' }).waitFor();
  expect(page.url()).toBe(url);
  const link = row.getByRole('link', { name: 'Download PDF' });
  await link.waitFor();

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'reports-page.png'), fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  expect(download.suggestedFilename()).toMatch(/^report_\d+\.pdf$/);
  const pdfPath = join(ARTIFACTS, 'report.pdf');
  await download.saveAs(pdfPath);
  const text = await pdfToText(pdfPath);
  expect(text).toContain('Bugs found per week');
  expect(text).toMatch(/Week 4\s+13/);
  await run('pdftoppm', [
    '-png',
    '-r',
    '80',
    '-f',
    '1',
    '-singlefile',
    pdfPath,
    join(ARTIFACTS, 'report-page-1'),
  ]);
  writeFileSync(join(ARTIFACTS, 'README.txt'), 'Written by test/browser.test.ts; git-ignored.\n');
  expect(violations).toEqual([]);
});

it('shows the home, reports, error and 404 pages at 1280 and 390 px without sideways scrolling', async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const width of [1280, 390]) {
    const page = await browser.newPage();
    await page.setViewportSize({ width, height: 900 });
    const pages: [string, string, number][] = [
      ['reports', '/reports', 200],
      ['error', '/reports/abc', 400],
      ['404', '/no/such/page', 404],
    ];
    // Logged out first: the home page with its two forms, after a signup error.
    await browser.clearCookies();
    await page.goto(app.url);
    await page.fill('#signup input[name=name]', 'Tiny Screen');
    await page.fill('#signup input[name=email]', 'tiny@example.com');
    await page.fill('#signup input[name=password]', '12345678');
    await page.click('#signup button[type=submit]');
    await page.locator('#password-error').waitFor();
    // The form keeps what was typed (never the password).
    expect(await page.inputValue('#signup input[name=name]')).toBe('Tiny Screen');
    expect(await page.inputValue('#signup input[name=email]')).toBe('tiny@example.com');
    expect(await page.inputValue('#signup input[name=password]')).toBe('');
    expect(await page.textContent('#password-error')).toContain('This password is too common.');
    await expectFits(page, width);
    await page.screenshot({ path: join(ARTIFACTS, `home-${width}.png`), fullPage: true });

    await page.fill('#login input[name=email]', 'grace@example.com');
    await page.fill('#login input[name=password]', 'cobol-forever-59');
    await page.click('#login button[type=submit]');
    await page.waitForURL(`${app.url}/reports`);
    for (const [name, path, status] of pages) {
      const response = await page.goto(`${app.url}${path}`);
      expect(response?.status(), path).toBe(status);
      expect(response?.headers()['content-type'], path).toMatch(/^text\/html/);
      await expectFits(page, width);
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
    }
    await page.close();
  }
});

/** Nothing on the page is wider than the window (no sideways scrolling). */
async function expectFits(page: import('playwright-core').Page, width: number): Promise<void> {
  const scrollWidth = Number(await page.evaluate('document.documentElement.scrollWidth'));
  expect(scrollWidth, page.url()).toBeLessThanOrEqual(width);
}
