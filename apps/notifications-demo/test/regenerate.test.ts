/**
 * Regenerating a report's PDF uses the report's unique key: a double-click while the render is
 * queued gets the same task, and the database holds one row for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { startDemo, type Demo } from './support/demo.ts';

let demo: Demo;

beforeAll(async () => {
  // The database backend with no worker: the render stays queued, as behind a busy queue.
  demo = await startDemo('regenerate', { TASK_BACKEND: 'database' });
});

afterAll(async () => {
  await demo?.stop();
});

describe('regenerating a report', () => {
  it('queues one render for a double-click, under the report key', async () => {
    const ada = new Client(demo.app.url);
    await ada.signUpAndLogIn({
      email: 'ada@example.com',
      name: 'Ada',
      password: 'a long enough passphrase',
    });
    const created = await ada.post('/reports', {
      title: 'Sales',
      data: [{ label: 'a', value: 1 }],
    });
    expect(created.status, created.text).toBe(202);
    const id = created.body.report_id as number;
    const [first, second] = await Promise.all([
      ada.post(`/reports/${id}/regenerate`, {}),
      ada.post(`/reports/${id}/regenerate`, {}),
    ]);
    expect(first.status, first.text).toBe(202);
    expect(second.status, second.text).toBe(202);
    expect(second.body.task_id).toBe(first.body.task_id);
    const rows = demo.query(
      'select id, unique_key from djtasks_task_result where task_name = ?',
      'notifications.generateReport',
    );
    expect(rows).toEqual([{ id: first.body.task_id, unique_key: `report-${id}` }]);
  });

  it('answers 404 for a report of someone else', async () => {
    const bob = new Client(demo.app.url);
    await bob.signUpAndLogIn({
      email: 'bob@example.com',
      name: 'Bob',
      password: 'a long enough passphrase',
    });
    const response = await bob.post('/reports/1/regenerate', {});
    expect(response.status).toBe(404);
  });
});
