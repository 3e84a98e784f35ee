/**
 * A person's view, in Chromium (Debian's, or Playwright's; see support/chromium.ts) driven by
 * playwright-core: sign up, log in, ask for a report and watch it turn completed without
 * reloading; then staff in the task dashboard (/admin/tasks): a failed email found by filter,
 * its traceback, a retry that succeeds, a running task cancelled. One file (past 300 lines) so
 * that the app, its worker and Chromium start once for all of it: CI time is short.
 * Screenshots and the PDF's first page as PNG go to test-artifacts/.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
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
import { environmentWith } from '../src/settings.ts';
import { expectFits, launchBrowser } from './support/browser.ts';
import { Client } from './support/client.ts';
import { pdfPageToPng } from './support/pdf-image.ts';

const ARTIFACTS = join(APP_DIR, 'test-artifacts');
const execFileAsync = promisify(execFile);

let inbox: Inbox;
let app: RunningApp;
let worker: RunningProcess;
let folder: ReturnType<typeof temporaryFolder>;
let browser: BrowserContext;
let env: Record<string, string>;

beforeAll(async () => {
  folder = temporaryFolder('demo-browser-');
  inbox = await startSmtpServer();
  env = {
    // What ./dev demo runs: the database backend with a worker process beside the web server.
    TASK_BACKEND: 'database',
    DATABASE_URL: `sqlite:${join(folder.path, 'db.sqlite3')}`,
    MEDIA_ROOT: join(folder.path, 'media'),
    EMAIL_BACKEND: 'smtp',
    EMAIL_PORT: String(inbox.port),
    WORKER_CONCURRENCY: '1',
    // A failing email is retried within a second (the dashboard test waits for FAILED).
    TASK_RETRY_BASE_MS: '100',
  };
  await migrate(env);
  app = await startApp(env);
  worker = await startWorker(env);
  browser = await launchBrowser(folder.path);
  // Up to 15 minutes: on a machine without Chromium, this installs Debian's.
}, 900_000);

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
  await pdfPageToPng(pdfPath, join(ARTIFACTS, 'report-page-1.png'), { pageNumber: 1, dpi: 80 });
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

// The task dashboard at /admin/tasks, as staff use it. The same app, worker and browser.

const STAFF = { email: 'ops@example.com', name: 'Ops Person', password: 'night-shift-on-call-7' };

/** Reload `path` until `done` holds (the dashboard pages update on reload). */
async function reloadUntil(page: Page, path: string, done: () => Promise<boolean>): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.goto(`${app.url}${path}`);
        return done();
      },
      { timeout: 60_000, interval: 250 },
    )
    .toBe(true);
}

async function logInAs(page: Page, user: { email: string; password: string }): Promise<void> {
  await browser.clearCookies();
  await page.goto(app.url);
  await page.fill('#login input[name=email]', user.email);
  await page.fill('#login input[name=password]', user.password);
  await page.click('#login button[type=submit]');
  await page.waitForURL(`${app.url}/reports`);
}

it('lets staff find a failed task by filter, read its traceback, retry it and see it succeed', async () => {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  // Grace (from the first test) is not staff: no link, and the dashboard is a 404 page.
  await logInAs(page, { email: 'grace@example.com', password: 'cobol-forever-59' });
  expect(await page.locator('header nav').textContent()).not.toContain('Tasks');
  expect((await page.goto(`${app.url}/admin/tasks/`))?.status()).toBe(404);
  expect(await page.textContent('h1')).toBe('Page not found');

  await execFileAsync(process.execPath, ['src/manage.ts', 'createsuperuser', '--noinput'], {
    cwd: APP_DIR,
    env: environmentWith({
      ...env,
      SUPERUSER_EMAIL: STAFF.email,
      SUPERUSER_NAME: STAFF.name,
      SUPERUSER_PASSWORD: STAFF.password,
    }),
  });
  // The mail server refuses: Ann's welcome email fails three times and ends FAILED.
  inbox.refuse('Mailbox full, try again later');
  await new Client(app.url).signUpAndLogIn({
    email: 'ann@example.com',
    name: 'Ann',
    password: 'welcome-mail-please-3',
  });

  await logInAs(page, STAFF);
  await page.getByRole('link', { name: 'Tasks', exact: true }).click();
  await page.waitForURL(`${app.url}/admin/tasks/`);
  // And back: the dashboard's header links to the app.
  await page.getByRole('link', { name: 'Back to the demo' }).click();
  await page.waitForURL(`${app.url}/reports`);
  // Rows of a task (an empty list may have a row saying so).
  const rows = page
    .locator('table.results tbody tr')
    .filter({ has: page.getByRole('link', { name: 'notifications.sendWelcomeEmail' }) });
  await reloadUntil(
    page,
    '/admin/tasks/tasks?status=FAILED',
    async () => (await rows.count()) === 1,
  );
  await page.goto(`${app.url}/admin/tasks/`);
  await page.screenshot({ path: join(ARTIFACTS, 'admin-overview-1280.png'), fullPage: true });
  await page.goto(`${app.url}/admin/tasks/tasks`);
  await page.getByLabel('failed').check();
  await page.getByLabel('Error text').fill('mailbox full');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/status=FAILED/);
  expect(await rows.count()).toBe(1);
  await page.screenshot({ path: join(ARTIFACTS, 'admin-list-1280.png'), fullPage: true });
  await rows.first().getByRole('link', { name: 'notifications.sendWelcomeEmail' }).click();
  await page.waitForURL(/\/admin\/tasks\/tasks\/[0-9a-zA-Z]+$/);
  const taskPath = new URL(page.url()).pathname;
  expect(await page.locator('pre.traceback').first().textContent()).toContain(
    'Mailbox full, try again later',
  );
  await page.screenshot({ path: join(ARTIFACTS, 'admin-task-1280.png'), fullPage: true });

  inbox.accept();
  await page.getByRole('button', { name: 'Retry' }).click();
  await reloadUntil(
    page,
    taskPath,
    async () => (await page.locator('.facts .status').textContent()) === 'SUCCESSFUL',
  );
  const welcome = await inbox.waitFor((m) => recipients(m).includes('ann@example.com'));
  expect(welcome.subject).toBe('Welcome to the djtasks demo');
  // The failed attempts stay in its history.
  expect(await page.locator('pre.traceback').first().textContent()).toContain('Mailbox full');
  await page.close();
});

it('lets staff cancel a running task', async () => {
  const page = await browser.newPage();
  // Outgoing mail held: Bo's welcome email stays RUNNING in the worker.
  inbox.hold();
  await new Client(app.url).signUpAndLogIn({
    email: 'bo@example.com',
    name: 'Bo',
    password: 'hold-the-line-please-9',
  });
  // Rows of a task (an empty list may have a row saying so).
  const rows = page
    .locator('table.results tbody tr')
    .filter({ has: page.getByRole('link', { name: 'notifications.sendWelcomeEmail' }) });
  await reloadUntil(
    page,
    '/admin/tasks/tasks?status=RUNNING',
    async () => (await rows.count()) === 1,
  );
  const link = rows.first().getByRole('link', { name: 'notifications.sendWelcomeEmail' });
  const taskPath = (await link.getAttribute('href')) ?? '';
  await rows.first().getByRole('button', { name: 'Cancel' }).click();
  await reloadUntil(
    page,
    taskPath,
    async () => (await page.locator('.facts .status').textContent()) === 'CANCELLED',
  );
  inbox.release();
  await page.close();
});

it('shows the dashboard at 390 px too, without sideways scrolling or CSP violations', async () => {
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') violations.push(message.text());
  });
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    for (const [name, path] of [
      ['overview', '/admin/tasks/'],
      ['list', '/admin/tasks/tasks'],
    ]) {
      expect((await page.goto(`${app.url}${path}`))?.status(), path).toBe(200);
      if (width === 390) {
        await page.screenshot({ path: join(ARTIFACTS, `admin-${name}-390.png`), fullPage: true });
      }
      await expectFits(page, width);
    }
    await page.locator('table.results tbody tr a').first().click();
    await page.waitForURL(/\/admin\/tasks\/tasks\/[0-9a-zA-Z]+$/);
    if (width === 390) {
      await page.screenshot({ path: join(ARTIFACTS, 'admin-task-390.png'), fullPage: true });
    }
    await expectFits(page, width);
  }
  expect(violations).toEqual([]);
  await page.close();
});
