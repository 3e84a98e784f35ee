// One describe sharing its app and fixture: the inject tests of every page and action (hence
// past 300 lines).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configureTasks, task, taskBackends } from '@djtasks/tasks';
import { tickKey } from '@djtasks/tasks/backend';
import {
  DatabaseBackend,
  getResultDetail,
  migrate,
  openDatabase,
  retryResult,
  SCHEDULE_TABLE,
  TASK_RESULT_TABLE,
} from '@djtasks/backend-db';
import { Worker } from '@djtasks/backend-db/worker';
import { CSRF_COOKIE, DashboardConfigurationError, djtasksDashboard } from '../src/index.ts';

const PREFIX = '/admin/tasks';

const sendsMail = task({ name: 'dash.sendsMail', queueName: 'mail' }, (to: string) => {
  throw new Error(`mailbox of ${to} is full`);
});
const adds = task({ name: 'dash.adds' }, (a: number, b: number) => a + b);

describe('@djtasks/dashboard (fastify inject, SQLite)', () => {
  let dir: string;
  let database: string;
  let backend: DatabaseBackend;
  let app: FastifyInstance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'djtasks-dashboard-'));
    database = join(dir, 'tasks.sqlite3');
    const orm = await openDatabase(database, { createDatabase: true });
    await migrate(orm.em);
    await orm.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    configureTasks({
      backends: {
        default: { backend: DatabaseBackend, queues: ['default', 'mail'], options: { database } },
      },
      schedules: {
        nightly: { task: 'dash.adds', cron: '30 2 * * *', timezone: 'Europe/Paris', args: [1, 1] },
      },
    });
    backend = taskBackends.get('default') as DatabaseBackend;
    const em = await backend.entityManager();
    await em.execute(`delete from ${TASK_RESULT_TABLE}`);
    await em.execute(`delete from ${SCHEDULE_TABLE}`);
    app = Fastify();
    // The app's own "staff" check: a header stands in for a session here.
    await app.register(djtasksDashboard, {
      prefix: PREFIX,
      backend,
      authorize: (request) => request.headers['x-staff'] === 'yes',
    });
    await app.ready();
  });
  afterEach(async () => {
    await app.close();
    await taskBackends.close();
    configureTasks();
  });

  /** One FAILED mail task (with a traceback) and one READY add whose argument is markup. */
  async function fixture() {
    const failed = await sendsMail.enqueue('<b>ann</b>@example.com');
    await new Worker({ backend, queues: '*', batch: true, startupDelay: false }).run();
    const ready = await adds.enqueue(1, 2);
    const em = await backend.entityManager();
    await em.execute(`update ${TASK_RESULT_TABLE} set args = ? where id = ?`, [
      JSON.stringify(['<script>alert(1)</script>', 2]),
      ready.id,
    ]);
    return { failed, ready };
  }

  const staff = { 'x-staff': 'yes' };

  /** GET a page as staff; returns the response and the CSRF token of its forms. */
  async function page(url: string) {
    const response = await app.inject({ method: 'GET', url, headers: staff });
    const token = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
    const cookie = response.cookies.find((c) => c.name === CSRF_COOKIE);
    return { response, token, cookie };
  }

  async function post(url: string, form: Record<string, string>, cookie?: string) {
    return app.inject({
      method: 'POST',
      url,
      headers: {
        ...staff,
        'content-type': 'application/x-www-form-urlencoded',
        ...(cookie ? { cookie: `${CSRF_COOKIE}=${cookie}` } : {}),
      },
      payload: new URLSearchParams(form).toString(),
    });
  }

  it('refuses to register without an authorize hook or a DatabaseBackend', async () => {
    const bare = Fastify();
    await expect(
      bare.register(djtasksDashboard, { prefix: PREFIX, backend } as never).ready(),
    ).rejects.toBeInstanceOf(DashboardConfigurationError);
    const noBackend = Fastify();
    await expect(
      noBackend
        .register(djtasksDashboard, { prefix: PREFIX, authorize: () => true } as never)
        .ready(),
    ).rejects.toMatchObject({ option: 'backend' });
    const badLink = Fastify();
    await expect(
      badLink
        .register(djtasksDashboard, {
          prefix: PREFIX,
          backend,
          authorize: () => true,
          siteLink: { href: 'javascript:alert(1)', label: 'Home' },
        })
        .ready(),
    ).rejects.toMatchObject({ name: 'DashboardConfigurationError', option: 'siteLink' });
    const linked = Fastify();
    await linked.register(djtasksDashboard, {
      prefix: PREFIX,
      backend,
      authorize: () => true,
      siteLink: { href: '/', label: 'Back to the app' },
    });
    const home = await linked.inject({ method: 'GET', url: `${PREFIX}/tasks` });
    expect(home.body).toContain('<a class="site" href="/">Back to the app</a>');
    await linked.close();
  });

  it('answers 404 to an unauthorized request on every dashboard URL, and acts on nothing', async () => {
    const { failed } = await fixture();
    for (const url of [
      '/',
      '/tasks',
      '/tasks?status=FAILED',
      `/tasks/${failed.id}`,
      '/static/dashboard.css',
      '/static/live.js',
      '/tasks/rows',
      '/tasks/rows?status=FAILED',
      `/tasks/${failed.id}/body`,
      '/schedules',
    ]) {
      const response = await app.inject({ method: 'GET', url: `${PREFIX}${url}` });
      // The app's own 404, exactly as for a URL that does not exist.
      expect(response.statusCode, url).toBe(404);
      expect(JSON.parse(response.body)).toEqual({
        message: `Route GET:${PREFIX}${url} not found`,
        error: 'Not Found',
        statusCode: 404,
      });
    }
    const { token, cookie } = await page(`${PREFIX}/tasks/${failed.id}`);
    const response = await app.inject({
      method: 'POST',
      url: `${PREFIX}/tasks/${failed.id}/retry`,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: `${CSRF_COOKIE}=${cookie!.value}`,
      },
      payload: `_csrf=${token}`,
    });
    expect(response.statusCode).toBe(404);
    expect((await getResultDetail(backend, failed.id)).status).toBe('FAILED');
  });

  it('shows the overview under a strict CSP: counts per queue, hour and day charts, percentiles, no script or inline style', async () => {
    await fixture();
    const { response } = await page(`${PREFIX}/`);
    expect(response.statusCode).toBe(200);
    const csp = response.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.body).not.toMatch(/<script|style=|<style/);
    expect(response.body).toMatch(/href="\/admin\/tasks\/tasks\?queue=mail&amp;status=FAILED">1</);
    // Throughput and failure charts for the last hour and the last day, as SVG.
    expect(response.body.match(/<svg /g)).toHaveLength(4);
    expect(response.body.match(/<rect class="bar failed"/g)!.length).toBeGreaterThanOrEqual(3);
    expect(response.body).toContain(
      '<strong>Throughput</strong>: 2 enqueued, 1 started, 1 finished (0 successful, 1 failed, 0 cancelled)',
    );
    expect(response.body).toContain(
      '<strong>Failures</strong>: 1 failed of 1 run to the end (100%)',
    );
    expect(response.body).toMatch(/<polyline class="line" points="[\d., ]+"/);
    // Percentiles: the failed task waited and ran once; all queues first, then each queue.
    const timings = response.body.slice(response.body.indexOf('class="timings"'));
    const rows = [
      ...timings.matchAll(/<tr(?: class="all")?>\s*<td>(.*?)<\/td>\s*<td class="num">(\d+)<\/td>/g),
    ]
      .map((m) => [m[1]!.replace(/<[^>]+>/g, ''), m[2]])
      .slice(0, 2);
    expect(rows).toEqual([
      ['all queues', '1'],
      ['mail', '1'],
    ]);
    expect(response.body).toMatch(/Last day <small>\(per 30 minutes, UTC; figures as of \d{4}-/);
    // Each window's percentiles are of the tasks its charts count (the day ends with its half hour).
    for (const section of response.body.split('<section class="window">').slice(1)) {
      const started = /(\d+) started/.exec(section)![1];
      const waits = /<tr class="all">\s*<td>all queues<\/td>\s*<td class="num">(\d+)</.exec(
        section,
      )![1];
      expect(waits).toBe(started);
    }
    // A second failure (and the READY add, run by the same worker) shows in the last hour at
    // once; the last day's figures are kept a minute.
    await sendsMail.enqueue('bob@example.com');
    await new Worker({ backend, queues: '*', batch: true, startupDelay: false }).run();
    const again = (await page(`${PREFIX}/`)).response.body;
    expect(again.match(/<strong>Failures<\/strong>: [^<]*/g)).toEqual([
      '<strong>Failures</strong>: 2 failed of 3 run to the end (66.7%)', // the READY add ran too
      '<strong>Failures</strong>: 1 failed of 1 run to the end (100%)',
    ]);
    const css = await app.inject({
      method: 'GET',
      url: `${PREFIX}/static/dashboard.css`,
      headers: staff,
    });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toContain('text/css');
  });

  it('lists with filters and shows a task with its traceback, escaping what tasks stored', async () => {
    const { failed, ready } = await fixture();
    const failedList = (await page(`${PREFIX}/tasks?status=FAILED`)).response.body;
    expect(failedList).toContain(failed.id);
    expect(failedList).not.toContain(ready.id);
    expect(failedList).toContain('>Retry</button>');
    const byError = (await page(`${PREFIX}/tasks?error=MAILBOX`)).response.body;
    expect(byError).toContain(failed.id);
    expect(byError).not.toContain(ready.id);
    const all = (await page(`${PREFIX}/tasks`)).response.body;
    expect(all).toContain(ready.id);
    expect(all).toContain('>Cancel</button>');
    const bad = await page(`${PREFIX}/tasks?status=DONE`);
    expect(bad.response.statusCode).toBe(400);
    // The list's only script is the plugin's own file; no inline script or style.
    expect(all.match(/<script[^>]*>/g)).toEqual([`<script src="${PREFIX}/static/live.js" defer>`]);
    expect(all).not.toMatch(/<script[^>]*>[^<]|style=|<style/);

    const detail = (await page(`${PREFIX}/tasks/${failed.id}`)).response.body;
    expect(detail).toContain('mailbox of &lt;b&gt;ann&lt;/b&gt;@example.com is full');
    expect(detail).toMatch(/<pre class="traceback">Error: mailbox of/);
    expect(detail).toContain('dashboard.test.ts');
    const readyPage = (await page(`${PREFIX}/tasks/${ready.id}`)).response.body;
    expect(readyPage).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(readyPage).not.toContain('<script>alert');
    expect((await page(`${PREFIX}/tasks/nope`)).response.statusCode).toBe(404);
  });

  it('refuses a POST without the CSRF token of its cookie', async () => {
    const { failed } = await fixture();
    const { token, cookie } = await page(`${PREFIX}/tasks/${failed.id}`);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookie).toMatchObject({
      value: token,
      httpOnly: true,
      sameSite: 'Strict',
      path: PREFIX,
    });
    const url = `${PREFIX}/tasks/${failed.id}/retry`;
    expect((await post(url, {})).statusCode).toBe(403);
    expect((await post(url, { _csrf: token! })).statusCode).toBe(403); // no cookie
    expect((await post(url, { _csrf: 'x'.repeat(43) }, cookie!.value)).statusCode).toBe(403);
    expect((await getResultDetail(backend, failed.id)).status).toBe('FAILED');
  });

  it('retries or cancels a selection in bulk, listing each refusal', async () => {
    const { failed, ready } = await fixture();
    const { token, cookie } = await page(`${PREFIX}/tasks`);
    const list = (await page(`${PREFIX}/tasks`)).response.body;
    expect(list).toContain(`name="id" value="${failed.id}" form="bulk"`);
    const form = new URLSearchParams({ _csrf: token!, action: 'retry' });
    form.append('id', failed.id);
    form.append('id', ready.id);
    const noToken = await app.inject({
      method: 'POST',
      url: `${PREFIX}/tasks/bulk`,
      headers: { ...staff, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form.toString(),
    });
    expect(noToken.statusCode).toBe(403);
    const response = await app.inject({
      method: 'POST',
      url: `${PREFIX}/tasks/bulk`,
      headers: {
        ...staff,
        'content-type': 'application/x-www-form-urlencoded',
        cookie: `${CSRF_COOKIE}=${cookie!.value}`,
      },
      payload: form.toString(),
    });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('Retry: 1 task; refused: 1.');
    expect(response.body).toContain(`is READY; only FAILED or CANCELLED results can be retried`);
    expect((await getResultDetail(backend, failed.id)).status).toBe('READY');
    const cancel = await post(
      `${PREFIX}/tasks/bulk`,
      { _csrf: token!, action: 'cancel', id: ready.id },
      cookie!.value,
    );
    expect(cancel.body).toContain('Cancel: 1 task.');
    expect((await getResultDetail(backend, ready.id)).status).toBe('CANCELLED');
    const none = await post(
      `${PREFIX}/tasks/bulk`,
      { _csrf: token!, action: 'retry' },
      cookie!.value,
    );
    expect(none.statusCode).toBe(400);
  });

  it('retries, cancels and deletes from the pages, and explains a refusal', async () => {
    const { failed, ready } = await fixture();
    const { token, cookie } = await page(`${PREFIX}/tasks`);
    const retried = await post(
      `${PREFIX}/tasks/${failed.id}/retry`,
      { _csrf: token!, next: `${PREFIX}/tasks?status=FAILED` },
      cookie!.value,
    );
    expect(retried.statusCode).toBe(303);
    expect(retried.headers.location).toBe(`${PREFIX}/tasks?status=FAILED`);
    expect((await getResultDetail(backend, failed.id)).status).toBe('READY');

    const refused = await post(
      `${PREFIX}/tasks/${failed.id}/retry`,
      { _csrf: token! },
      cookie!.value,
    );
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('only FAILED or CANCELLED results can be retried');

    const cancelled = await post(
      `${PREFIX}/tasks/${ready.id}/cancel`,
      { _csrf: token!, next: 'https://evil.example/' },
      cookie!.value,
    );
    expect(cancelled.statusCode).toBe(303);
    expect(cancelled.headers.location).toBe(`${PREFIX}/tasks/${ready.id}`);
    expect((await getResultDetail(backend, ready.id)).status).toBe('CANCELLED');

    const deleted = await post(
      `${PREFIX}/tasks/${ready.id}/delete`,
      { _csrf: token! },
      cookie!.value,
    );
    expect(deleted.statusCode).toBe(303);
    expect(deleted.headers.location).toBe(`${PREFIX}/tasks`);
    expect((await page(`${PREFIX}/tasks/${ready.id}`)).response.statusCode).toBe(404);
    const unknown = await post(
      `${PREFIX}/tasks/${ready.id}/explode`,
      { _csrf: token! },
      cookie!.value,
    );
    expect(unknown.statusCode).toBe(404);
  });

  it('serves the rows of the list alone for live updates, with the same filters', async () => {
    const { failed, ready } = await fixture();
    const list = (await page(`${PREFIX}/tasks?status=FAILED&error=mailbox`)).response.body;
    expect(list).toContain(
      `<tbody data-live="${PREFIX}/tasks/rows?status=FAILED&amp;error=mailbox" data-live-interval="3000">`,
    );
    const script = await app.inject({
      method: 'GET',
      url: `${PREFIX}/static/live.js`,
      headers: staff,
    });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toContain('text/javascript');
    expect(script.body).toContain("querySelector('[data-live]')");

    const rows = await page(`${PREFIX}/tasks/rows?status=FAILED&error=mailbox`);
    expect(rows.response.statusCode).toBe(200);
    expect(rows.response.headers['content-type']).toContain('text/html');
    expect(rows.response.body).not.toContain('<html');
    expect(rows.response.body).toContain(`<tr data-id="${failed.id}" data-status="FAILED">`);
    expect(rows.response.body).not.toContain(ready.id);
    // The row actions come back to the list page, not to the rows URL.
    expect(rows.response.body).toContain(
      `name="next" value="${PREFIX}/tasks?status=FAILED&amp;error=mailbox"`,
    );
    // A change shows in the next fetch: the retried task leaves the FAILED rows.
    await retryResult(backend, failed.id);
    const after = await page(`${PREFIX}/tasks/rows?status=FAILED&error=mailbox`);
    expect(after.response.body).toContain('No task results match.');
    const all = await page(`${PREFIX}/tasks/rows`);
    expect(all.response.body).toContain(`<tr data-id="${failed.id}" data-status="READY">`);
    expect((await page(`${PREFIX}/tasks/rows?status=DONE`)).response.statusCode).toBe(400);
    // The task page refreshes its body the same way.
    const taskPage = (await page(`${PREFIX}/tasks/${failed.id}`)).response.body;
    expect(taskPage).toContain(
      `<div class="task-body" data-live="${PREFIX}/tasks/${failed.id}/body" data-live-interval="3000">`,
    );
    const body = await page(`${PREFIX}/tasks/${failed.id}/body`);
    expect(body.response.body).not.toContain('<html');
    expect(body.response.body).toContain('<span class="status s-ready">READY</span>');
    expect((await page(`${PREFIX}/tasks/nope/body`)).response.statusCode).toBe(404);
  });

  it('shows unique keys on the list and task pages and filters by key or key prefix', async () => {
    const keyed = await adds.using({ uniqueKey: 'order-42' }).enqueue(4, 2);
    const other = await adds.using({ uniqueKey: 'order-7' }).enqueue(7, 0);
    const plain = await adds.enqueue(1, 1);
    const all = (await page(`${PREFIX}/tasks`)).response.body;
    expect(all).toContain(`key <a href="${PREFIX}/tasks?key=order-42">order-42</a>`);
    const exact = (await page(`${PREFIX}/tasks?key=order-42`)).response.body;
    expect(exact).toContain(keyed.id);
    expect(exact).not.toContain(other.id);
    expect(exact).toContain('name="key" value="order-42"');
    const prefix = (await page(`${PREFIX}/tasks?key=order-*`)).response.body;
    expect(prefix).toContain(keyed.id);
    expect(prefix).toContain(other.id);
    expect(prefix).not.toContain(plain.id);
    const detail = (await page(`${PREFIX}/tasks/${keyed.id}`)).response.body;
    expect(detail).toMatch(/<dt>Unique key<\/dt><dd><a href="[^"]+key=order-42">order-42<\/a>/);
  });

  it('shows each schedule with its cron, timezone, last and next run and recent tasks', async () => {
    const empty = (await page(`${PREFIX}/schedules`)).response.body;
    expect(empty).toContain('<code>30 2 * * *</code> in Europe/Paris');
    expect(empty).toContain('not yet');
    expect(empty).toContain('No task of this schedule is stored.');
    // Two ticks enqueued as a worker fires them: each with the tick's unique key.
    const schedule = backend.schedules.find((s) => s.name === 'nightly')!;
    const ticks = [new Date('2026-01-01T01:30:00Z'), new Date('2026-01-02T01:30:00Z')];
    const results = [];
    for (const tick of ticks) {
      results.push(await adds.using({ uniqueKey: tickKey(schedule, tick) }).enqueue(1, 1));
    }
    await adds.enqueue(1, 1); // not the schedule's
    const em = await backend.entityManager();
    await em.execute(
      `insert into ${SCHEDULE_TABLE} (backend_name, name, last_tick_at, last_task_id) values (?, ?, ?, ?)`,
      ['default', 'nightly', ticks[1]!.getTime(), results[1]!.id],
    );
    const body = (await page(`${PREFIX}/schedules`)).response.body;
    expect(body).toContain('<h2>nightly</h2>');
    expect(body).toMatch(/<dt>Last run<\/dt><dd>2026-01-02T01:30:00Z/);
    expect(body).toContain(`href="${PREFIX}/tasks/${results[1]!.id}">its task</a>`);
    // The next 02:30 in Paris after now.
    const next = /<dt>Next run<\/dt><dd>(\S+)/.exec(body)![1]!;
    expect(new Date(next).getTime()).toBeGreaterThan(Date.now());
    expect(['01:30:00', '00:30:00']).toContain(next.slice(11, 19));
    const recent = body.slice(body.indexOf('Recent tasks'));
    expect(recent.match(/<tr>/g)).toHaveLength(3); // the header and the two ticks
    expect(recent).toContain('>2026-01-02T01:30:00.000Z</a>');
    expect(body).toContain(`href="${PREFIX}/tasks?task=dash.adds&amp;key=schedule%3Anightly%3A*"`);
    const list = (await page(`${PREFIX}/tasks?task=dash.adds&key=schedule%3Anightly%3A*`)).response
      .body;
    expect(list.match(/<tr data-id=/g)).toHaveLength(2);
  });
});
