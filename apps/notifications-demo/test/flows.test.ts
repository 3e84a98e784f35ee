/**
 * The articles' two flows end to end, against the real app process, a real SMTP server,
 * real databases and (for the database backend) a real worker process:
 * signup → welcome email; report → 202 at once → PDF → notification emails.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { createPostgresDatabase } from './support/postgres.ts';
import {
  migrate,
  pdfToText,
  startApp,
  temporaryFolder,
  startWorker,
  type RunningApp,
  type RunningProcess,
} from './support/processes.ts';
import { recipients, startSmtpServer, type Inbox } from './support/smtp.ts';

interface Case {
  backend: 'immediate' | 'threadpool' | 'database';
  database: 'sqlite' | 'postgresql';
  /** Whether `enqueue` returns before the task has run (every backend but Immediate). */
  deferred: boolean;
}

const CASES: Case[] = [
  { backend: 'immediate', database: 'sqlite', deferred: false },
  { backend: 'threadpool', database: 'sqlite', deferred: true },
  { backend: 'database', database: 'sqlite', deferred: true },
  { backend: 'database', database: 'postgresql', deferred: true },
];

describe.each(CASES)('$backend backend on $database', ({ backend, database, deferred }) => {
  let inbox: Inbox;
  let app: RunningApp;
  let worker: RunningProcess | undefined;
  let folder: ReturnType<typeof temporaryFolder>;
  let dropDatabase: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    folder = temporaryFolder(`demo-${backend}-`);
    inbox = await startSmtpServer();
    let databaseUrl = `sqlite:${join(folder.path, 'db.sqlite3')}`;
    if (database === 'postgresql') {
      const created = await createPostgresDatabase();
      databaseUrl = created.url;
      dropDatabase = () => created.drop();
    }
    const env = {
      TASK_BACKEND: backend,
      DATABASE_URL: databaseUrl,
      MEDIA_ROOT: join(folder.path, 'media'),
      EMAIL_BACKEND: 'smtp',
      EMAIL_HOST: '127.0.0.1',
      EMAIL_PORT: String(inbox.port),
      // One thread or worker slot: a task that waits on the SMTP server keeps the next queued.
      THREADPOOL_MAX_WORKERS: '1',
      WORKER_CONCURRENCY: '1',
    };
    await migrate(env);
    app = await startApp(env);
    if (backend === 'database') worker = await startWorker(env);
  });

  afterAll(async () => {
    await worker?.stop();
    await app?.stop();
    await inbox?.close();
    await dropDatabase?.();
    folder?.remove();
  });

  const user = {
    email: `ada.${backend}.${database}@example.com`,
    name: 'Ada Lovelace',
    password: 'correct horse battery',
  };
  const client = () => new Client(app.url);
  let ada: Client;

  it('registers over HTTP, answers at once, and the welcome email arrives over SMTP', async () => {
    ada = client();
    const registered = await ada.signUpAndLogIn(user);
    expect(registered.body).toEqual({
      message: 'Registration received. Check your email to continue, then log in.',
    });

    const welcome = await inbox.waitFor((m) => recipients(m).includes(user.email));
    expect(welcome.subject).toBe('Welcome to the djtasks demo');
    expect(welcome.from?.value[0]?.address).toBe('noreply@example.com');
    expect(welcome.text).toContain('Hi Ada Lovelace,');
    expect(welcome.text).toContain('Thanks for signing up.');
    expect(welcome.html).toContain('Thanks for signing up.');
    expect(welcome.messageId).toMatch(/^<.+@.+>$/);
    expect(welcome.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(welcome.headers.get('mime-version')).toBe('1.0');
    expect(welcome.headers.get('auto-submitted')).toBe('auto-generated');
    expect(welcome.date).toBeInstanceOf(Date);
  });

  it('answers POST /reports with 202 at once (before the PDF task ran, where deferred) and completes the PDF', async () => {
    const title = `Quarterly numbers (${backend})`;
    const data = [
      { label: 'January', value: 42 },
      { label: 'February', value: 17.5 },
      { label: 'March', value: 63 },
    ];
    // On deferred backends, hold the SMTP server: the "being generated" notification (sent
    // first, on the only thread or worker slot) waits in it, so the PDF task cannot have run
    // when the 202 and the first status come back.
    if (deferred) inbox.hold();
    const created = await ada.post('/reports', { title, data });
    expect(created.status).toBe(202);
    expect(created.body).toEqual({ status: 'processing', report_id: expect.any(Number) });
    const id = created.body.report_id as number;

    const first = await ada.get(`/reports/${id}`);
    expect(first.status).toBe(200);
    if (deferred) {
      expect(first.body).toMatchObject({ report_id: id, status: 'pending', download_url: null });
      const early = await ada.bytes(`/reports/${id}/download`);
      expect(early.status).toBe(404);
      inbox.release();
    } else {
      // ImmediateBackend runs tasks inside enqueue, like Django's: done before the answer.
      expect(first.body.status).toBe('completed');
    }

    const done = await ada.waitForReport(id);
    expect(done.body).toMatchObject({
      report_id: id,
      title,
      status: 'completed',
      attempts: 1,
      error: null,
      download_url: `/reports/${id}/download`,
    });

    const pdf = await ada.bytes(done.body.download_url as string);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdf.headers.get('content-disposition')).toBe(`attachment; filename="report_${id}.pdf"`);
    expect(pdf.data.subarray(0, 5).toString()).toBe('%PDF-');
    const file = join(folder.path, 'downloaded.pdf');
    await writeFile(file, pdf.data);
    const text = await pdfToText(file);
    expect(text).toContain(title);
    expect(text).toContain('Ada Lovelace');
    expect(text).toMatch(/January\s+42/);
    expect(text).toMatch(/February\s+17\.5/);
    expect(text).toMatch(/March\s+63/);
    expect(text).toMatch(/Total\s+122\.5/);
    // The file the task saved, under the name of the article.
    const saved = await readFile(join(folder.path, 'media', 'reports', `report_${id}.pdf`));
    expect(saved.equals(pdf.data)).toBe(true);

    const generating = await inbox.waitFor(
      (m) => recipients(m).includes(user.email) && (m.subject ?? '').includes('is being generated'),
    );
    expect(generating.subject).toBe(`Your report "${title}" is being generated`);
    expect(generating.text).toContain(`We are generating your report "${title}".`);
    const ready = await inbox.waitFor(
      (m) => recipients(m).includes(user.email) && (m.subject ?? '').includes('is ready'),
    );
    expect(ready.subject).toBe(`Your report "${title}" is ready`);
    // Whatever the backend runs in parallel, "being generated" arrives first.
    expect(inbox.messages.indexOf(generating)).toBeLessThan(inbox.messages.indexOf(ready));
    expect(ready.text).toContain(`${app.url}/reports/${id}/download`);
    expect(ready.html).toContain(`href="${app.url}/reports/${id}/download"`);
  });
});
