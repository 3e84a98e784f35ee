import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configureTasks, task, taskBackends } from '@djtasks/tasks';
import {
  DatabaseBackend,
  getResultDetail,
  migrate,
  openDatabase,
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
    });
    backend = taskBackends.get('default') as DatabaseBackend;
    const em = await backend.entityManager();
    await em.execute(`delete from ${TASK_RESULT_TABLE}`);
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
  });

  it('answers 404 to an unauthorized request on every dashboard URL, and acts on nothing', async () => {
    const { failed } = await fixture();
    for (const url of [
      '/',
      '/tasks',
      '/tasks?status=FAILED',
      `/tasks/${failed.id}`,
      '/static/dashboard.css',
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

  it('shows the overview under a strict CSP: counts per queue, workers, an SVG chart, no script or inline style', async () => {
    await fixture();
    const { response } = await page(`${PREFIX}/`);
    expect(response.statusCode).toBe(200);
    const csp = response.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.body).not.toMatch(/<script|style=|<style/);
    expect(response.body).toMatch(/href="\/admin\/tasks\/tasks\?queue=mail&amp;status=FAILED">1</);
    expect(response.body).toMatch(/<rect class="bar failed"/);
    expect(response.body).toContain('1 in all');
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
});
