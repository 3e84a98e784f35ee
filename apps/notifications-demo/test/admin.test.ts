/**
 * Staff pages: the task dashboard at /admin/tasks (404 for every
 * dashboard URL to anyone but staff, its CSRF token beside the app's, its CSP) and /metrics
 * (staff or local requests only, Prometheus text that parses). The app runs in this process on
 * the database backend (so the test can list the dashboard's routes, whatever they are) and
 * listens on every interface, so a request from a non-loopback address is a real one. One file
 * (a little past 300 lines) so that this app starts once for all of it.
 */
import { DATABASE_FILE as databaseFile, ENV, FOLDER } from './support/admin-environment.ts';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentWith } from '../src/settings.ts';
import { Client } from './support/client.ts';
import { APP_DIR, migrate, startApp } from './support/processes.ts';

const run = promisify(execFile);
const folder = { path: FOLDER, remove: () => rmSync(FOLDER, { recursive: true, force: true }) };
const STAFF = {
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  password: 'analytical-engine-1843',
};
const MEMBER = { email: 'bob@example.com', name: 'Bob Member', password: 'plain-member-2026' };

/** `manage.ts createsuperuser` with `env` on top of the test's. */
function createsuperuser(args: string[], env: Record<string, string> = {}, base = ENV) {
  return run(process.execPath, ['src/manage.ts', 'createsuperuser', ...args], {
    cwd: APP_DIR,
    env: environmentWith({ ...base, ...env }),
  }).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      out: error.stdout + error.stderr,
    }),
  );
}

let app: FastifyInstance;
let url: string;
let staff: Client;
let member: Client;
let anonymous: Client;
let taskId: string;
let shutdown: () => Promise<void>;

beforeAll(async () => {
  await migrate(ENV);
  const created = await createsuperuser(['--noinput', '--email', STAFF.email], {
    SUPERUSER_NAME: STAFF.name,
    SUPERUSER_PASSWORD: STAFF.password,
  });
  expect(created).toMatchObject({ code: 0 });
  const { configureTasks, taskBackends } = await import('@djtasks/tasks');
  const { tasksConfig } = await import('../src/taskconfig.ts');
  const { getOrm, closeOrm } = await import('../src/db.ts');
  const { startTelemetry } = await import('../src/telemetry.ts');
  const { buildApp } = await import('../src/app.ts');
  configureTasks(tasksConfig());
  const telemetry = await startTelemetry('web');
  app = await buildApp(await getOrm((await import('../src/settings.ts')).settings.DATABASE), {
    telemetry,
  });
  await app.listen({ host: '0.0.0.0', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  shutdown = async () => {
    await app.close();
    await taskBackends.close();
    await closeOrm();
    await telemetry.shutdown();
  };
  staff = new Client(url);
  await staff.get('/csrf');
  expect(
    (await staff.post('/login', { email: STAFF.email, password: STAFF.password })).status,
  ).toBe(200);
  member = new Client(url);
  await member.signUpAndLogIn(MEMBER);
  anonymous = new Client(url);
  // The member's welcome email: a READY task (no worker runs here) to show and act on.
  const db = new DatabaseSync(databaseFile, { readOnly: true });
  const row = db.prepare('select id, metadata from djtasks_task_result limit 1').get() as {
    id: string;
    metadata: string | null;
  };
  db.close();
  taskId = row.id;
  // Tracing is off here: the task carries no trace context.
  expect(row.metadata ?? '').not.toContain('traceparent');
});

afterAll(async () => {
  await shutdown?.();
  folder.remove();
});

/** Every route the dashboard registered, with its parameters filled in (from fastify's tree). */
function dashboardRoutes(): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const node = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!node?.[2]) continue;
    stack.length = (node[1] ?? '').length / 4;
    stack.push(node[2]);
    const path = stack.join('');
    if (!path.startsWith('/admin/tasks') || !node[3]) continue;
    for (const method of node[3].split(', ')) {
      if (method === 'HEAD') continue;
      const filled = path
        .replace(':id', taskId)
        .replace(':action', 'retry')
        .replace(/:[a-z]+/gi, 'x')
        .replace(/\*$/, 'x');
      routes.push({ method, path: filled });
    }
  }
  return routes;
}

/** The app's own 404 (as for any unknown URL), not the dashboard's. */
function expectAppNotFound(
  response: { status: number; headers: Headers; text: string },
  what: string,
) {
  expect(response.status, what).toBe(404);
  expect(response.text, what).toMatch(/^\{"error":"Not found: /);
  expect(response.headers.get('content-security-policy'), what).toContain("script-src 'self'");
  expect(response.headers.getSetCookie().join(), what).not.toContain('djtasks_csrf');
}

describe('/admin/tasks', () => {
  it('answers 404 to anonymous and non-staff users on every dashboard URL', async () => {
    const routes = dashboardRoutes();
    // The overview, the list, a task page, the stylesheet and the actions at least.
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'GET /admin/tasks/',
        'GET /admin/tasks/tasks',
        `GET /admin/tasks/tasks/${taskId}`,
        'GET /admin/tasks/static/dashboard.css',
        'POST /admin/tasks/tasks/bulk',
        `POST /admin/tasks/tasks/${taskId}/retry`,
      ]),
    );
    for (const { method, path } of routes) {
      for (const [who, client] of [
        ['anonymous', anonymous],
        ['non-staff', member],
      ] as const) {
        const response = await client.request(
          method,
          path,
          method === 'GET' ? {} : { form: { _csrf: 'x'.repeat(43), action: 'cancel', id: taskId } },
        );
        expectAppNotFound(response, `${who} ${method} ${path}`);
        if (method === 'GET') {
          // A browser gets the app's 404 page, under the app's CSP.
          const page = await client.get(path, { accept: 'text/html' });
          expect(page.status).toBe(404);
          expect(page.text).toContain('<h1>Page not found</h1>');
          expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
        }
      }
    }
    // Nothing was done by those POSTs.
    const db = new DatabaseSync(databaseFile, { readOnly: true });
    expect(db.prepare('select status from djtasks_task_result where id = ?').get(taskId)).toEqual({
      status: 'READY',
    });
    db.close();
  });

  it("shows staff every page under the dashboard's CSP, and takes its token for actions", async () => {
    for (const path of [
      '/admin/tasks/',
      '/admin/tasks/tasks?status=READY',
      `/admin/tasks/tasks/${taskId}`,
      '/admin/tasks/schedules',
    ]) {
      const page = await staff.get(path, { accept: 'text/html' });
      expect(page.status, path).toBe(200);
      // The demo's daily digest schedule is known to the web process (its tasks are imported).
      if (path.endsWith('/schedules')) {
        expect(page.text).toContain('notifications.sendDailyDigest');
        expect(page.text).not.toContain('Not fired by');
      }
      // One policy, the dashboard's stricter one (default-src 'none'), not the app's too.
      const policy = page.headers.get('content-security-policy') ?? '';
      expect(policy, path).toMatch(/^default-src 'none';/);
      expect(policy, path).not.toContain("default-src 'self'");
      expect(policy, path).not.toContain('unsafe-inline');
      expect(page.headers.get('x-frame-options'), path).toBe('DENY');
      expect(page.headers.get('cache-control'), path).toBe('no-store');
    }
    const home = await staff.get('/reports', { accept: 'text/html' });
    expect(home.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(home.text).toContain('href="/admin/tasks/"');
    expect((await member.get('/reports', { accept: 'text/html' })).text).not.toContain(
      '/admin/tasks',
    );

    const dashboardToken = staff.cookies.get('djtasks_csrf');
    expect(dashboardToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Without the dashboard's token: refused by the dashboard (the app's token is not enough).
    const refused = await staff.request('POST', `/admin/tasks/tasks/${taskId}/cancel`, {
      form: { csrfmiddlewaretoken: staff.csrfToken ?? '' },
    });
    expect(refused.status).toBe(403);
    // From another site's page: refused by the app's Origin check before the dashboard runs.
    const foreign = await staff.request('POST', `/admin/tasks/tasks/${taskId}/cancel`, {
      form: { _csrf: dashboardToken ?? '' },
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.text).toContain('Origin checking failed');
    // The dashboard's form as a browser posts it (its token, no X-CSRFToken header): done.
    const cancelled = await staff.request('POST', `/admin/tasks/tasks/${taskId}/cancel`, {
      form: { _csrf: dashboardToken ?? '' },
      headers: { origin: url },
      csrf: false,
    });
    expect(cancelled.status).toBe(303);
    const db = new DatabaseSync(databaseFile, { readOnly: true });
    expect(db.prepare('select status from djtasks_task_result where id = ?').get(taskId)).toEqual({
      status: 'CANCELLED',
    });
    db.close();
    // The app's own forms still need the app's token.
    expect((await staff.request('POST', '/logout', { csrf: false })).status).toBe(403);
  });
});

/** A non-loopback address of this machine, to make a request that is really not local. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
}

describe('/metrics', () => {
  function parse(text: string) {
    const families = parsePrometheusTextFormat(text);
    return new Map(families.map((family) => [family.name, family]));
  }

  it('serves Prometheus text to local requests and to staff, and 404 to anyone else', async () => {
    // A task ready to run, for the queue gauges (the earlier tests may have cancelled theirs).
    await new Client(url).signUpAndLogIn({ ...MEMBER, email: 'carol@example.com', name: 'Carol' });
    const local = await anonymous.get('/metrics');
    expect(local.status).toBe(200);
    expect(local.headers.get('content-type')).toMatch(/^text\/plain/);
    const families = parse(local.text);
    // Enqueued in this process: the member's welcome email.
    const enqueued = families.get('djtasks_tasks_enqueued_total');
    expect(enqueued?.type).toBe('COUNTER');
    expect(
      enqueued?.metrics.find(
        (m) => m.labels?.['djtasks_task_name'] === 'notifications.sendWelcomeEmail',
      ),
    ).toMatchObject({ value: '2' });
    const ready = families.get('djtasks_queue_ready');
    expect(ready?.type).toBe('GAUGE');
    expect(Number(ready?.metrics[0]?.value)).toBeGreaterThanOrEqual(1);
    expect(families.get('target_info')?.metrics[0]?.labels?.['service_name']).toBe(
      'notifications-demo-web',
    );

    // Through a proxy (X-Forwarded-For), a request is not local: only staff get the text.
    const proxied = { 'x-forwarded-for': '203.0.113.9' };
    expectAppNotFound(await anonymous.get('/metrics', proxied), 'anonymous via a proxy');
    expectAppNotFound(await member.get('/metrics', proxied), 'non-staff via a proxy');
    const viaProxy = await staff.get('/metrics', proxied);
    expect(viaProxy.status).toBe(200);
    expect(parse(viaProxy.text).has('djtasks_tasks_enqueued_total')).toBe(true);

    // A real connection from another address of this machine (not loopback).
    const address = externalAddress();
    expect(address, 'this test needs a non-loopback IPv4 interface').toBeDefined();
    const external = url.replace('127.0.0.1', address ?? '');
    const outsider = new Client(external);
    expectAppNotFound(await outsider.get('/metrics'), 'anonymous from outside');
    const staffOutside = new Client(external);
    staffOutside.cookies.set('sessionid', staff.cookies.get('sessionid') ?? '');
    const seen = await staffOutside.get('/metrics');
    expect(seen.status).toBe(200);
    expect(parse(seen.text).has('djtasks_queue_ready')).toBe(true);
  });
});

describe('/admin/tasks on the in-memory backends', () => {
  it('tells staff the dashboard needs the database backend, and is a plain 404 to others', async () => {
    const immediate = {
      ...ENV,
      TASK_BACKEND: 'immediate',
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${join(folder.path, 'immediate.sqlite3')}`,
    };
    await migrate(immediate);
    const created = await createsuperuser(
      ['--noinput', '--email', STAFF.email, '--name', STAFF.name],
      { SUPERUSER_PASSWORD: STAFF.password },
      immediate,
    );
    expect(created.code).toBe(0);
    const server = await startApp(immediate);
    try {
      const visitor = new Client(server.url);
      const admin = new Client(server.url);
      await admin.get('/csrf');
      expect(
        (await admin.post('/login', { email: STAFF.email, password: STAFF.password })).status,
      ).toBe(200);
      for (const path of ['/admin/tasks', '/admin/tasks/', '/admin/tasks/tasks?status=FAILED']) {
        expectAppNotFound(await visitor.get(path), `anonymous ${path}`);
        const page = await admin.get(path, { accept: 'text/html' });
        expect(page.status, path).toBe(404);
        expect(page.text, path).toContain('TASK_BACKEND=immediate');
      }
    } finally {
      await server.stop();
    }
  });
});
