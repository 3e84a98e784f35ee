/**
 * The dashboard in a real browser (playwright-core driving Debian's Chromium, or CHROMIUM_PATH):
 * a staff user finds a failed task by filter, reads its traceback, retries it and sees it
 * succeed, cancels a running one; a non-staff user gets 404 everywhere; the pages raise no
 * Content-Security-Policy violation. Screenshots go to test-artifacts/ at desktop and phone widths.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureTasks, task, taskBackends } from '@djtasks/tasks';
import { DatabaseBackend, migrate, openDatabase } from '@djtasks/backend-db';
import { Worker } from '@djtasks/backend-db/worker';
import { djtasksDashboard } from '../src/index.ts';

const PREFIX = '/admin/tasks';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

let mailboxFull = true;
const sendWelcome = task({ name: 'dash.sendWelcome', queueName: 'mail' }, (to: string) => {
  if (mailboxFull) throw new Error(`mailbox of ${to} is full`);
  return `sent to ${to}`;
});
const renderReport = task({ name: 'dash.renderReport', takesContext: true }, async (context) => {
  await new Promise((_resolve, reject) => {
    context.signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true });
  });
});

function chromiumPath(): string {
  const path = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `The dashboard browser test needs Chromium at ${path}: apt-get install -y chromium, or set CHROMIUM_PATH.`,
    );
  }
  return path;
}

describe('@djtasks/dashboard in Chromium', () => {
  let dir: string;
  let backend: DatabaseBackend;
  let app: FastifyInstance;
  let browser: Browser;
  let origin: string;
  const cspViolations: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'djtasks-dashboard-browser-'));
    const database = join(dir, 'tasks.sqlite3');
    const orm = await openDatabase(database, { createDatabase: true });
    await migrate(orm.em);
    await orm.close();
    configureTasks({
      backends: {
        default: { backend: DatabaseBackend, queues: ['default', 'mail'], options: { database } },
      },
    });
    backend = taskBackends.get('default') as DatabaseBackend;
    app = Fastify();
    // Staff are recognised by a cookie here; the demo uses its session.
    await app.register(djtasksDashboard, {
      prefix: PREFIX,
      backend,
      authorize: (request) => /(?:^|;\s*)staff=yes(?:;|$)/.test(request.headers.cookie ?? ''),
    });
    origin = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({ executablePath: chromiumPath() });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await taskBackends.close();
    configureTasks();
    rmSync(dir, { recursive: true, force: true });
  });

  async function newPage(staff: boolean, width = 1280): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    if (staff) await context.addCookies([{ name: 'staff', value: 'yes', url: origin }]);
    const page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    return page;
  }

  it('gives a non-staff user 404 for every dashboard page', async () => {
    const failed = await sendWelcome.enqueue('zoe@example.com');
    const page = await newPage(false);
    for (const path of ['/', '/tasks', `/tasks/${failed.id}`, '/static/dashboard.css']) {
      const response = await page.goto(`${origin}${PREFIX}${path}`);
      expect(response?.status(), path).toBe(404);
    }
    await page.context().close();
  });

  it('lets staff find a failed task by filter, read its traceback, retry it and see it succeed', async () => {
    await sendWelcome.enqueueMany([['ann@example.com'], ['bob@example.com']]);
    await new Worker({ backend, queues: '*', batch: true, startupDelay: false }).run();
    await Promise.all([1, 2, 3].map((n) => adds(n)));
    const page = await newPage(true);

    await page.goto(`${origin}${PREFIX}/`);
    expect(await page.locator('h1').textContent()).toBe('Tasks');
    expect(await page.locator('svg rect.bar.failed').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'overview-desktop.png'), fullPage: true });

    await page.goto(`${origin}${PREFIX}/tasks`);
    await page.getByLabel('failed').check();
    await page.getByLabel('Error text').fill('ann@');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=FAILED/);
    const rows = page.locator('table.results tbody tr');
    expect(await rows.count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'list-desktop.png'), fullPage: true });

    await rows.first().getByRole('link', { name: 'dash.sendWelcome' }).click();
    await page.waitForURL(/\/tasks\/[0-9a-zA-Z]+$/);
    const taskUrl = page.url();
    expect(await page.locator('pre.traceback').textContent()).toContain(
      'mailbox of ann@example.com is full',
    );
    await page.screenshot({ path: join(ARTIFACTS, 'task-failed-desktop.png'), fullPage: true });

    mailboxFull = false;
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.waitForURL(taskUrl);
    expect(await page.locator('.facts .status').textContent()).toBe('READY');
    await new Worker({ backend, queues: '*', batch: true, startupDelay: false }).run();
    await page.reload();
    expect(await page.locator('.facts .status').textContent()).toBe('SUCCESSFUL');
    expect(await page.locator('pre.code').last().textContent()).toContain(
      'sent to ann@example.com',
    );
    // The first attempt's error stays in the history.
    expect(await page.locator('pre.traceback').textContent()).toContain(
      'mailbox of ann@example.com is full',
    );
    await page.screenshot({ path: join(ARTIFACTS, 'task-retried-desktop.png'), fullPage: true });
    await page.context().close();
  });

  it('lets staff cancel a running task', async () => {
    const running = await renderReport.enqueue();
    const worker = new Worker({
      backend,
      queues: '*',
      startupDelay: false,
      pollIntervalMs: 100,
    });
    const done = worker.run();
    const page = await newPage(true);
    await expect
      .poll(
        async () => {
          await page.goto(`${origin}${PREFIX}/tasks?status=RUNNING`);
          return page.locator('table.results tbody tr').count();
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe(1);
    await page
      .locator('table.results tbody tr')
      .first()
      .getByRole('button', { name: 'Cancel' })
      .click();
    await page.waitForURL(/status=RUNNING/);
    await expect
      .poll(
        async () => {
          await page.goto(`${origin}${PREFIX}/tasks/${running.id}`);
          return page.locator('.facts .status').textContent();
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe('CANCELLED');
    await worker.stop();
    await done;
    await page.context().close();
  });

  it('fits a phone screen, and no page broke the Content-Security-Policy', async () => {
    const page = await newPage(true, 390);
    await page.goto(`${origin}${PREFIX}/`);
    await page.screenshot({ path: join(ARTIFACTS, 'overview-phone.png'), fullPage: true });
    await page.goto(`${origin}${PREFIX}/tasks`);
    await page.screenshot({ path: join(ARTIFACTS, 'list-phone.png'), fullPage: true });
    await page.locator('table.results tbody tr a').first().click();
    await page.waitForURL(/\/tasks\/[0-9a-zA-Z]+$/);
    await page.screenshot({ path: join(ARTIFACTS, 'task-phone.png'), fullPage: true });
    // A string expression: the test's TypeScript has no DOM types.
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.context().close();
    expect(cspViolations).toEqual([]);
  });
});

const addsTask = task({ name: 'dash.add' }, (a: number, b: number) => a + b);
/** Enqueue an addition (READY rows for the overview). */
function adds(n: number) {
  return addsTask.enqueue(n, n);
}
