/**
 * When `generateReport` fails: every attempt is made first, then the report is marked
 * failed and its owner is told by email. The failure is real: the storage folder for
 * reports cannot be created because a file stands in its place.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import {
  migrate,
  runBatchWorker,
  startApp,
  startWorker,
  temporaryFolder,
  type RunningApp,
  type RunningProcess,
} from './support/processes.ts';
import { recipients, startSmtpServer, type Inbox } from './support/smtp.ts';

/** The error recorded in a report's row (what users are not shown). */
function errorOf(id: number, env: Record<string, string>): string {
  const db = new DatabaseSync((env.DATABASE_URL ?? '').replace(/^sqlite:/, ''), { readOnly: true });
  try {
    return String(db.prepare('select error from reports_report where id = ?').get(id)?.error);
  } finally {
    db.close();
  }
}

describe.each(['immediate', 'threadpool'] as const)('on the %s backend', (backend) => {
  let inbox: Inbox;
  let app: RunningApp;
  let folder: ReturnType<typeof temporaryFolder>;
  let env: Record<string, string>;
  const reportError = (id: number) => errorOf(id, env);

  beforeAll(async () => {
    folder = temporaryFolder(`demo-failure-${backend}-`);
    inbox = await startSmtpServer();
    env = {
      TASK_BACKEND: backend,
      DATABASE_URL: `sqlite:${join(folder.path, 'db.sqlite3')}`,
      MEDIA_ROOT: join(folder.path, 'media'),
      EMAIL_BACKEND: 'smtp',
      EMAIL_PORT: String(inbox.port),
      REPORT_MAX_ATTEMPTS: '2',
      TASK_RETRY_BASE_MS: '0',
    };
    await migrate(env);
    app = await startApp(env);
  });

  afterAll(async () => {
    await app?.stop();
    await inbox?.close();
    folder?.remove();
  });

  it('marks the report failed after its attempts and notifies the owner', async () => {
    // `media` is a folder, `media/reports` a plain file: creating the folder fails every time.
    mkdirSync(join(folder.path, 'media'), { recursive: true });
    writeFileSync(join(folder.path, 'media', 'reports'), 'not a folder');

    const client = new Client(app.url);
    const email = `unlucky.${backend}@example.com`;
    await client.signUpAndLogIn({ email, name: 'Unlucky', password: 'password-1234' });
    const created = await client.post('/reports', {
      title: 'Doomed report',
      data: [{ label: 'a', value: 1 }],
    });
    expect(created.status).toBe(202);
    const id = created.body.report_id as number;

    const done = await client.waitForReport(id);
    expect(done.body).toMatchObject({
      report_id: id,
      status: 'failed',
      attempts: 2,
      download_url: null,
    });
    // The user sees a plain sentence; the error itself stays in the report row (and the
    // task result), never on a page or in an email.
    expect(done.body.error).toBe(
      'We could not generate this report. Please try again later; if it keeps failing, contact us.',
    );
    expect(reportError(id)).toMatch(/EEXIST|ENOTDIR/);
    expect((await client.bytes(`/reports/${id}/download`)).status).toBe(404);
    const page = await client.get(`/reports/${id}`, { accept: 'text/html' });
    expect(page.text).toContain('We could not generate this report.');
    expect(page.text).not.toMatch(/EEXIST|ENOTDIR|\/tmp\//);

    const notice = await inbox.waitFor(
      (m) => recipients(m).includes(email) && (m.subject ?? '').includes('could not be generated'),
    );
    expect(notice.subject).toBe('Your report "Doomed report" could not be generated');
    expect(notice.text).toContain('We could not generate this report.');
    expect(`${notice.text}${notice.html}`).not.toMatch(/EEXIST|ENOTDIR|\/tmp\//);
    expect(inbox.messages.some((m) => (m.subject ?? '').includes('is ready'))).toBe(false);
  });
});

describe('on the database backend', () => {
  let inbox: Inbox;
  let app: RunningApp;
  let worker: RunningProcess | undefined;
  let folder: ReturnType<typeof temporaryFolder>;
  let env: Record<string, string>;
  const reportError = (id: number, from: Record<string, string>) => errorOf(id, from);

  beforeAll(async () => {
    folder = temporaryFolder('demo-retry-database-');
    inbox = await startSmtpServer();
    env = {
      TASK_BACKEND: 'database',
      DATABASE_URL: `sqlite:${join(folder.path, 'db.sqlite3')}`,
      MEDIA_ROOT: join(folder.path, 'media'),
      EMAIL_BACKEND: 'smtp',
      EMAIL_PORT: String(inbox.port),
      REPORT_MAX_ATTEMPTS: '3',
      // The retry waits 1.5 to 3 s: long after the batch worker below has exited.
      TASK_RETRY_BASE_MS: '3000',
    };
    await migrate(env);
    app = await startApp(env);
  });

  afterAll(async () => {
    await worker?.stop();
    await app?.stop();
    await inbox?.close();
    folder?.remove();
  });

  it('retries a transient failure after a backoff, and the report completes', async () => {
    const blocker = join(folder.path, 'media', 'reports');
    mkdirSync(join(folder.path, 'media'), { recursive: true });
    writeFileSync(blocker, 'not a folder');

    const client = new Client(app.url);
    const email = 'patient@example.com';
    await client.signUpAndLogIn({ email, name: 'Patient', password: 'password-1234' });
    const created = await client.post('/reports', {
      title: 'Eventually fine',
      data: [{ label: 'a', value: 1 }],
    });
    expect(created.status).toBe(202);
    const id = created.body.report_id as number;

    // A worker that runs what is ready and exits: the first attempt fails and is put back
    // with a delay, so the batch ends with the report still pending.
    const batch = await runBatchWorker(env);
    expect(batch).toMatch(/1 retried/);
    const afterFirst = await client.get(`/reports/${id}`);
    expect(afterFirst.body).toMatchObject({ status: 'pending', attempts: 1, error: null });
    expect(reportError(id, env)).toMatch(/EEXIST|ENOTDIR/);

    // The storage comes back; a long-running worker picks the retry up after its backoff.
    rmSync(blocker);
    worker = await startWorker(env);
    const done = await client.waitForReport(id);
    expect(done.body).toMatchObject({ status: 'completed', attempts: 2, error: null });
    const ready = await inbox.waitFor(
      (m) => recipients(m).includes(email) && (m.subject ?? '').includes('is ready'),
    );
    expect(ready.subject).toBe('Your report "Eventually fine" is ready');
    expect(ready.text).toContain('Your report "Eventually fine" is ready to download.');
    expect(inbox.messages.some((m) => (m.subject ?? '').includes('could not be generated'))).toBe(
      false,
    );
  });
});
