/**
 * When `generateReport` fails: every attempt is made first, then the report is marked
 * failed and its owner is told by email. The failure is real: the storage folder for
 * reports cannot be created because a file stands in its place.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { migrate, startApp, temporaryFolder, type RunningApp } from './support/processes.ts';
import { recipients, startSmtpServer, type Inbox } from './support/smtp.ts';

describe.each(['immediate', 'threadpool'] as const)('on the %s backend', (backend) => {
  let inbox: Inbox;
  let app: RunningApp;
  let folder: ReturnType<typeof temporaryFolder>;

  beforeAll(async () => {
    folder = temporaryFolder(`demo-failure-${backend}-`);
    inbox = await startSmtpServer();
    const env = {
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
    expect(done.body.error).toMatch(/EEXIST|ENOTDIR/);
    expect((await client.bytes(`/reports/${id}/download`)).status).toBe(404);

    const notice = await inbox.waitFor(
      (m) => recipients(m).includes(email) && (m.text ?? '').includes('could not be generated'),
    );
    expect(notice.text).toContain('Sorry, your report "Doomed report" could not be generated');
    expect(inbox.messages.some((m) => (m.text ?? '').includes('is ready'))).toBe(false);
  });
});
