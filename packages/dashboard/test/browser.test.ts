// One Chromium and one app for every browser test, which follow each other's rows (hence past
// 300 lines).
/**
 * The dashboard in a real browser (playwright-core driving Debian's Chromium, or CHROMIUM_PATH):
 * a staff user finds a failed task by filter, reads its traceback, retries it and sees it
 * succeed, cancels a running one; a non-staff user gets 404 everywhere; the pages raise no
 * Content-Security-Policy violation; the list updates itself while a task runs and finishes,
 * keeping the rows checked. Screenshots of the overview, the list, a task page and the
 * schedules page go to test-artifacts/ at desktop and phone widths.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureTasks, task, taskBackends } from '@djtasks/tasks';
import { tickKey } from '@djtasks/tasks/backend';
import {
  DatabaseBackend,
  migrate,
  openDatabase,
  SCHEDULE_TABLE,
  TASK_RESULT_TABLE,
} from '@djtasks/backend-db';
import { Worker } from '@djtasks/backend-db/worker';
import { djtasksDashboard } from '../src/index.ts';

const PREFIX = '/admin/tasks';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

let mailboxFull = true;
const sendWelcome = task({ name: 'dash.sendWelcome', queueName: 'mail' }, (to: string) => {
  if (mailboxFull) throw new Error(`mailbox of ${to} is full`);
  return `sent to ${to}`;
});
let openGate: () => void = () => {};
const gate = new Promise<void>((resolve) => {
  openGate = resolve;
});
const waitsForGate = task({ name: 'dash.waitsForGate' }, async (label: string) => {
  await gate;
  return `${label} done`;
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
      schedules: {
        nightly: { task: 'dash.add', cron: '30 2 * * *', timezone: 'Europe/Paris', args: [2, 3] },
      },
    });
    backend = taskBackends.get('default') as DatabaseBackend;
    app = Fastify();
    // Staff are recognised by a cookie here; the demo uses its session.
    await app.register(djtasksDashboard, {
      prefix: PREFIX,
      backend,
      authorize: (request) => /(?:^|;\s*)staff=yes(?:;|$)/.test(request.headers.cookie ?? ''),
      liveIntervalMs: 300,
      statsCacheMs: 0, // the screenshots show the history seeded just before
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
    for (const path of [
      '/',
      '/tasks',
      `/tasks/${failed.id}`,
      '/tasks/rows',
      '/schedules',
      '/static/dashboard.css',
      '/static/live.js',
    ]) {
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

  it('updates the list and the task page live: a task starts and finishes without a reload, checked rows stay checked', async () => {
    const other = await adds(40);
    const page = await newPage(true);
    await page.goto(`${origin}${PREFIX}/tasks?task=dash.waitsForGate,dash.add`);
    await page.getByLabel(`Select ${other.id}`).check();
    // Marks this document: a reload or navigation would lose it.
    await page.evaluate('window.notReloaded = true');
    const slow = await waitsForGate.enqueue('report');
    const row = page.locator(`tr[data-id="${slow.id}"]`);
    await expect.poll(() => row.count(), { timeout: 30_000, interval: 100 }).toBe(1);
    expect(await row.locator('.status').textContent()).toBe('READY');
    const taskPage = await newPage(true);
    await taskPage.goto(`${origin}${PREFIX}/tasks/${slow.id}`);
    await taskPage.evaluate('window.notReloaded = true');
    const worker = new Worker({ backend, queues: '*', startupDelay: false, pollIntervalMs: 100 });
    const done = worker.run();
    await expect
      .poll(() => row.locator('.status').textContent(), { timeout: 30_000, interval: 100 })
      .toBe('RUNNING');
    await page.screenshot({
      path: join(ARTIFACTS, 'list-live-running-desktop.png'),
      fullPage: true,
    });
    openGate();
    await expect
      .poll(() => row.locator('.status').textContent(), { timeout: 30_000, interval: 100 })
      .toBe('SUCCESSFUL');
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    // The task page followed too: its status and return value, without a reload.
    await expect
      .poll(() => taskPage.locator('.facts .status').textContent(), {
        timeout: 30_000,
        interval: 100,
      })
      .toBe('SUCCESSFUL');
    expect(await taskPage.locator('pre.code').last().textContent()).toContain('report done');
    expect(await taskPage.evaluate('window.notReloaded')).toBe(true);
    await taskPage.context().close();
    expect(await page.getByLabel(`Select ${other.id}`).isChecked()).toBe(true);
    expect(await page.locator('[data-live-status]').textContent()).toMatch(/^Live · updated /);
    await worker.stop();
    await done;
    await page.context().close();
  });

  it('shows the schedules page with a schedule, its last and next run and recent tasks', async () => {
    const schedule = backend.schedules[0]!;
    const ticks = [new Date(Date.now() - 2 * 86_400_000), new Date(Date.now() - 86_400_000)];
    const ids: string[] = [];
    for (const tick of ticks) {
      tick.setUTCHours(1, 30, 0, 0);
      ids.push((await addsTask.using({ uniqueKey: tickKey(schedule, tick) }).enqueue(2, 3)).id);
    }
    await new Worker({ backend, queues: '*', batch: true, startupDelay: false }).run();
    // As the worker that fired the last tick records it (the live test's worker saw the schedule first).
    const em = await backend.entityManager();
    await em.execute(
      `insert into ${SCHEDULE_TABLE} (backend_name, name, last_tick_at, last_task_id) values (?, ?, ?, ?) ` +
        `on conflict (backend_name, name) do update set last_tick_at = excluded.last_tick_at, last_task_id = excluded.last_task_id`,
      ['default', schedule.name, ticks[1]!.getTime(), ids[1]],
    );
    const page = await newPage(true);
    await page.goto(`${origin}${PREFIX}/schedules`);
    expect(await page.locator('h2').first().textContent()).toBe('nightly');
    expect(await page.locator('.schedule tbody tr').count()).toBe(2);
    await page.screenshot({ path: join(ARTIFACTS, 'schedules-desktop.png'), fullPage: true });
    await page.getByRole('link', { name: 'All its tasks →' }).click();
    await page.waitForURL(/key=schedule/);
    expect(await page.locator('table.results tbody tr').count()).toBe(2);
    await page.context().close();
  });

  it('fits a phone screen, and no page broke the Content-Security-Policy', async () => {
    await seedHistory(backend);
    const desktop = await newPage(true);
    await desktop.goto(`${origin}${PREFIX}/`);
    await desktop.screenshot({
      path: join(ARTIFACTS, 'overview-history-desktop.png'),
      fullPage: true,
    });
    await desktop.context().close();
    const long = await longName.enqueue();
    const page = await newPage(true, 390);
    // A string expression: the test's TypeScript has no DOM types.
    const overflow = () =>
      page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
    const overflows: Record<string, number> = {};
    for (const [name, path] of [
      ['overview', '/'],
      ['list', '/tasks'],
      ['task', `/tasks/${long.id}`],
      ['schedules', '/schedules'],
    ] as const) {
      await page.goto(`${origin}${PREFIX}${path}`);
      await page.screenshot({ path: join(ARTIFACTS, `${name}-phone.png`), fullPage: true });
      await page.screenshot({ path: join(ARTIFACTS, `${name}-phone-first-screen.png`) });
      overflows[name] = await overflow();
    }
    // Nothing wider than the screen (wide tables scroll inside their cards), long task names too.
    expect(overflows).toEqual({ overview: 0, list: 0, task: 0, schedules: 0 });
    await page.context().close();
    expect(cspViolations).toEqual([]);
  });
});

const addsTask = task({ name: 'dash.add' }, (a: number, b: number) => a + b);
const longName = task(
  { name: 'dash.notifications.sendWelcomeEmailToEveryNewSubscriberOfTheNewsletter' },
  () => 'sent',
);
/** Enqueue an addition (READY rows for the overview). */
function adds(n: number) {
  return addsTask.enqueue(n, n);
}

/**
 * A day of history for the overview's screenshot: finished rows spread over the last 24 hours
 * (one in 9 failed, one in 40 cancelled, run times up to 4 s, waits up to 2 s) on two queues,
 * written straight to the table because a test cannot wait a day for real runs.
 */
async function seedHistory(backend: DatabaseBackend): Promise<void> {
  const em = await backend.entityManager();
  const now = Date.now();
  for (let i = 0; i < 600; i++) {
    const enqueued = now - 86_400_000 + Math.floor((i / 600) * 86_300_000) + (i % 7) * 1000;
    const started = enqueued + ((i * 37) % 2000);
    const finished = started + ((i * 101) % 4000) + 20;
    const status = i % 40 === 0 ? 'CANCELLED' : i % 9 === 0 ? 'FAILED' : 'SUCCESSFUL';
    await em.execute(
      `insert into ${TASK_RESULT_TABLE} (id, status, task_name, queue_name, backend_name, priority, args, ` +
        `available_at, enqueued_at, started_at, last_attempted_at, finished_at, attempts, worker_ids, errors) ` +
        `values (?, ?, ?, ?, 'default', 0, '[]', ?, ?, ?, ?, ?, 1, '["history"]', ?)`,
      [
        `history-${String(i).padStart(4, '0')}`,
        status,
        i % 3 === 0 ? 'dash.sendWelcome' : 'dash.add',
        i % 3 === 0 ? 'mail' : 'default',
        enqueued,
        enqueued,
        started,
        started,
        finished,
        status === 'FAILED'
          ? JSON.stringify([
              {
                exceptionClassPath: 'Error',
                message: 'mailbox full',
                traceback: 'Error: mailbox full',
              },
            ])
          : '[]',
      ],
    );
  }
}
