/**
 * Security and bad input, against the real app process: ownership (404 for others' ids),
 * CSRF, CSP and security headers, sessions, password storage, malformed requests.
 */
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { migrate, startApp, temporaryFolder, type RunningApp } from './support/processes.ts';
import { recipients, startSmtpServer, type Inbox } from './support/smtp.ts';

let inbox: Inbox;
let app: RunningApp;
let folder: ReturnType<typeof temporaryFolder>;
let databaseFile: string;

beforeAll(async () => {
  folder = temporaryFolder('demo-security-');
  inbox = await startSmtpServer();
  databaseFile = join(folder.path, 'db.sqlite3');
  const env = {
    TASK_BACKEND: 'immediate',
    DATABASE_URL: `sqlite:${databaseFile}`,
    MEDIA_ROOT: join(folder.path, 'media'),
    EMAIL_BACKEND: 'smtp',
    EMAIL_PORT: String(inbox.port),
    MAX_BODY_BYTES: '16384',
    // Every request here comes from 127.0.0.1: rate limits are tested in limits.test.ts.
    REGISTER_LIMIT_PER_IP: '1000',
    REGISTER_LIMIT_PER_ACCOUNT: '1000',
  };
  await migrate(env);
  app = await startApp(env);
});

afterAll(async () => {
  await app?.stop();
  await inbox?.close();
  folder?.remove();
});

function count(table: string, where = '1 = 1', ...params: string[]): number {
  const db = new DatabaseSync(databaseFile, { readOnly: true });
  try {
    const row = db.prepare(`select count(*) as n from ${table} where ${where}`).get(...params);
    return Number(row?.n);
  } finally {
    db.close();
  }
}

const DATA = [{ label: 'Only row', value: 1 }];

async function userWithReport(email: string): Promise<{ client: Client; reportId: number }> {
  const client = new Client(app.url);
  await client.signUpAndLogIn({
    email,
    name: email.split('@')[0] ?? email,
    password: 'password-1234',
  });
  const created = await client.post('/reports', { title: `Report of ${email}`, data: DATA });
  expect(created.status).toBe(202);
  return { client, reportId: created.body.report_id as number };
}

describe('reports belong to their owner', () => {
  it("answers 404 for another user's report, for status and download", async () => {
    const alice = await userWithReport('alice@example.com');
    const bob = await userWithReport('bob@example.com');
    expect((await alice.client.get(`/reports/${alice.reportId}`)).body.status).toBe('completed');

    const status = await bob.client.get(`/reports/${alice.reportId}`);
    expect(status.status).toBe(404);
    expect(status.body).toEqual({ error: 'Report not found.' });
    const download = await bob.client.bytes(`/reports/${alice.reportId}/download`);
    expect(download.status).toBe(404);
    expect(download.data.subarray(0, 4).toString()).not.toBe('%PDF');
    // An id that does not exist at all looks the same.
    expect((await bob.client.get('/reports/999999')).status).toBe(404);
    // The owner still gets it.
    const own = await alice.client.bytes(`/reports/${alice.reportId}/download`);
    expect(own.status).toBe(200);
    expect(own.data.subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('asks anonymous clients to log in, and logging out ends the session', async () => {
    const { client, reportId } = await userWithReport('carol@example.com');
    const anonymous = new Client(app.url);
    expect((await anonymous.get(`/reports/${reportId}`)).status).toBe(401);
    expect((await anonymous.bytes(`/reports/${reportId}/download`)).status).toBe(401);

    const session = client.cookies.get('sessionid');
    expect(session).toBeTruthy();
    expect((await client.post('/logout', {})).status).toBe(200);
    // Replaying the old cookie does not work: the session is gone from the database.
    const replay = new Client(app.url);
    replay.cookies.set('sessionid', session ?? '');
    expect((await replay.get(`/reports/${reportId}`)).status).toBe(401);
  });

  it('stores passwords as salted scrypt hashes', async () => {
    await new Client(app.url).signUpAndLogIn({
      email: 'dave@example.com',
      name: 'Dave',
      password: 'plain-text-never',
    });
    const db = new DatabaseSync(databaseFile, { readOnly: true });
    const row = db
      .prepare('select password_hash from accounts_user where email = ?')
      .get('dave@example.com');
    db.close();
    const hash = String(row?.password_hash);
    expect(hash).toMatch(/^scrypt\$16384\$8\$5\$[\w-]{22}\$[\w-]{43}$/);
    expect(hash).not.toContain('plain-text-never');
    const wrong = new Client(app.url);
    await wrong.get('/csrf');
    const denied = await wrong.post('/login', {
      email: 'dave@example.com',
      password: 'guess-1234',
    });
    expect(denied.status).toBe(400);
    expect(denied.body.error).toBe('Please enter a correct email and password.');
    expect(wrong.cookies.has('sessionid')).toBe(false);
  });
});

describe('CSRF protection', () => {
  it('refuses a form post without the CSRF token, and creates nothing', async () => {
    const client = new Client(app.url);
    await client.get('/');
    expect(client.csrfToken).toMatch(/^[\w-]{43}$/);
    const form = { email: 'eve@example.com', name: 'Eve', password: 'password-1234' };

    const missing = await client.request('POST', '/register', { form, csrf: false });
    expect(missing.status).toBe(403);
    expect(missing.body.error).toBe(
      'CSRF verification failed. Request aborted. CSRF token missing.',
    );

    const wrong = await client.request('POST', '/register', {
      form: { ...form, csrfmiddlewaretoken: 'x'.repeat(43) },
      csrf: false,
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error).toContain('CSRF token incorrect.');

    const noCookie = new Client(app.url);
    const cookieless = await noCookie.request('POST', '/register', {
      form: { ...form, csrfmiddlewaretoken: client.csrfToken ?? '' },
    });
    expect(cookieless.status).toBe(403);
    expect(cookieless.body.error).toContain('CSRF cookie not set.');

    const crossSite = await client.request('POST', '/register', {
      form: { ...form, csrfmiddlewaretoken: client.csrfToken ?? '' },
      headers: { origin: 'https://evil.example' },
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error).toContain('Origin checking failed');

    expect(count('accounts_user', 'email = ?', form.email)).toBe(0);

    // With the token, the same form is accepted and redirects like a Django view.
    const accepted = await client.request('POST', '/register', {
      form: { ...form, csrfmiddlewaretoken: client.csrfToken ?? '' },
      headers: { accept: 'text/html' },
      csrf: false,
    });
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get('location')).toBe('/?message=registered');
    expect(count('accounts_user', 'email = ?', form.email)).toBe(1);
    await inbox.waitFor((m) => recipients(m).includes(form.email));
  });

  it('refuses a JSON report request without the X-CSRFToken header', async () => {
    const { client } = await userWithReport('frank@example.com');
    const before = count('reports_report');
    const refused = await client.request('POST', '/reports', {
      json: { title: 'Sneaky', data: DATA },
      csrf: false,
    });
    expect(refused.status).toBe(403);
    expect(count('reports_report')).toBe(before);
  });
});

describe('headers', () => {
  it('sends a Content-Security-Policy that allows only this origin, and security headers', async () => {
    for (const path of ['/', '/csrf', '/static/app.js', '/reports/1']) {
      const response = await new Client(app.url).get(path, { accept: 'text/html' });
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('same-origin');
    }
    const home = await new Client(app.url).get('/', { accept: 'text/html' });
    expect(home.text).not.toMatch(/<script>|<style>|\son\w+=/);
    const cookie = home.headers.getSetCookie().find((c) => c.startsWith('csrftoken='));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
  });
});

describe('malformed input gets a 4xx with a clear message and creates nothing', () => {
  const users = () => count('accounts_user');
  const reports = () => count('reports_report');

  it('rejects bad registrations', async () => {
    const client = new Client(app.url);
    await client.get('/csrf');
    const before = users();
    const cases: [unknown, RegExp][] = [
      [
        { email: 'not-an-email', name: 'X', password: 'password-1234' },
        /Enter a valid email address\./,
      ],
      [{ email: 'a@b', name: 'X', password: 'password-1234' }, /Enter a valid email address\./],
      [{ name: 'X', password: 'password-1234' }, /Email is required\./],
      [{ email: 'g@example.com', password: 'password-1234' }, /Name is required\./],
      [{ email: 'g@example.com', name: 'G' }, /Password is required\./],
      [{ email: 'g@example.com', name: 'G', password: 'short' }, /at least 8 characters/],
      [
        { email: ['g@example.com'], name: 'G', password: 'password-1234' },
        /Email must be a string\./,
      ],
      [{ email: 'g@example.com', name: 'N'.repeat(151), password: 'password-1234' }, /at most 150/],
      [[1, 2, 3], /Email is required\./],
    ];
    for (const [body, message] of cases) {
      const response = await client.post('/register', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error).toMatch(message);
    }
    const duplicate = new Client(app.url);
    await duplicate.signUpAndLogIn({
      email: 'henry@example.com',
      name: 'Henry',
      password: 'password-1234',
    });
    const again = await client.post('/register', {
      email: 'henry@example.com',
      name: 'Henry 2',
      password: 'password-1234',
    });
    // The same answer as for a new address (see accounts.test.ts); no second account.
    expect(again.status).toBe(202);
    expect(users()).toBe(before + 1);
  });

  it('rejects malformed JSON, unknown content types and huge bodies', async () => {
    const client = new Client(app.url);
    await client.get('/csrf');
    const before = users();
    const broken = await client.request('POST', '/register', {
      raw: '{"email": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatch(/JSON/);

    const xml = await client.request('POST', '/register', {
      raw: '<user/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(xml.status).toBe(415);
    expect(xml.body.error).toMatch(/Unsupported content type 'application\/xml'/);

    const huge = await client.post('/register', {
      email: 'huge@example.com',
      name: 'x'.repeat(100_000),
      password: 'password-1234',
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error).toBe('Request body is too large (the limit is 16384 bytes).');
    expect(users()).toBe(before);
    expect(inbox.messages.some((m) => recipients(m).includes('huge@example.com'))).toBe(false);
  });

  it('rejects bad report requests and non-numeric ids', async () => {
    const { client } = await userWithReport('ivy@example.com');
    const before = reports();
    const cases: [unknown, RegExp][] = [
      [{ data: DATA }, /Title is required\./],
      [{ title: 'No data' }, /Data is required\./],
      [{ title: 'Empty', data: [] }, /at least one row/],
      [{ title: 'Bad', data: 'no comma here' }, /Line 1 must look like "label, value"/],
      [
        { title: 'Bad', data: [{ label: 'x', value: 'seven' }] },
        /Row 1 \("x"\): the value must be a number/,
      ],
      [{ title: 'Bad', data: [{ value: 1 }] }, /Row 1: the label must be text/],
      [
        {
          title: 'Many',
          data: Array.from({ length: 25 }, (_, i) => ({ label: `r${i}`, value: i })),
        },
        /at most 24 rows/,
      ],
      [{ title: 'T'.repeat(121), data: DATA }, /Title must have at most 120 characters/],
    ];
    for (const [body, message] of cases) {
      const response = await client.post('/reports', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error).toMatch(message);
    }
    expect(reports()).toBe(before);

    for (const id of ['abc', '1.5', '-1', '0', '1e3', '99999999999', '%27%20or%201%3D1']) {
      const status = await client.get(`/reports/${id}`);
      expect(status.status, id).toBe(400);
      expect(status.body.error).toMatch(/^Report id must be a positive whole number/);
      expect((await client.bytes(`/reports/${id}/download`)).status, id).toBe(400);
    }
  });
});
