/**
 * The daily digest schedule, fired by the thread pool's in-process scheduler (DIGEST_CRON set
 * to every two seconds here): each user who asked for reports gets an email listing them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { startDemo, type Demo } from './support/demo.ts';

let demo: Demo;

beforeAll(async () => {
  demo = await startDemo('digest', { TASK_BACKEND: 'threadpool', DIGEST_CRON: '*/2 * * * * *' });
});

afterAll(async () => {
  await demo?.stop();
});

describe('daily digest', () => {
  it('emails each user the reports they asked for in the last day', async () => {
    const ada = new Client(demo.app.url);
    await ada.signUpAndLogIn({
      email: 'ada@example.com',
      name: 'Ada',
      password: 'a long enough passphrase',
    });
    const created = await ada.post('/reports', {
      title: 'Quarterly sales',
      data: [{ label: 'a', value: 1 }],
    });
    expect(created.status, created.text).toBe(202);
    const digest = await demo.inbox.waitFor(
      (message) =>
        message.subject === 'Your reports of the day (1)' &&
        (message.text ?? '').includes('"Quarterly sales"'),
    );
    expect(digest.to && 'text' in digest.to ? digest.to.text : '').toContain('ada@example.com');
  }, 60_000);
});
