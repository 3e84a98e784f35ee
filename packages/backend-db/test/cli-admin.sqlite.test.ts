import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TaskResultStatus } from '@djtasks/tasks';
import { TASK_RESULT_TABLE } from '../src/index.ts';
import { countRun } from './fixtures/tasks.ts';
import { useWorkerDatabase } from './processes.ts';

const BIN = fileURLToPath(new URL('../bin/djtasks.js', import.meta.url));
const CONFIG = fileURLToPath(new URL('./fixtures/djtasks.config.ts', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function djtasks(url: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, '--config', CONFIG, '-v', '0', ...args],
      { env: { ...process.env, DJTASKS_TEST_DB: url }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const TRACEBACK = 'Error: mailbox full\n    at sendMail (mail.ts:10:5)';

describe('djtasks list | show | retry | cancel | delete (real process, SQLite)', () => {
  const db = useWorkerDatabase('sqlite');

  /** Three tasks: one FAILED on worker w-1 with a traceback, one READY, one SUCCESSFUL. */
  async function fixture() {
    const [failed, ready, done] = await countRun.enqueueMany([[], [], []]);
    await db.sql(
      `update ${TASK_RESULT_TABLE} set status = 'FAILED', attempts = 1, finished_at = enqueued_at, ` +
        `worker_ids = '["w-1"]', errors = ?, queue_name = 'mail' where id = ?`,
      [
        JSON.stringify([
          { exceptionClassPath: 'Error', message: 'mailbox full', traceback: TRACEBACK },
        ]),
        failed!.id,
      ],
    );
    await db.sql(
      `update ${TASK_RESULT_TABLE} set status = 'SUCCESSFUL', attempts = 1, finished_at = enqueued_at, ` +
        `worker_ids = '["w-2"]', return_value = 'null' where id = ?`,
      [done!.id],
    );
    return { failed: failed!, ready: ready!, done: done! };
  }

  it('answers --help for every verb', async () => {
    for (const verb of ['list', 'show', 'retry', 'cancel', 'delete']) {
      const run = await djtasks(db.url(), [verb, '--help']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`Usage: djtasks ${verb}`);
    }
    const top = await djtasks(db.url(), ['--help']);
    expect(top.stdout).toMatch(/list\s+List task results/);
  });

  it('lists as a table and as JSON, with filters and pages', async () => {
    const { failed, ready, done } = await fixture();
    const table = await djtasks(db.url(), ['list']);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^ID\s+STATUS\s+QUEUE\s+TASK\s+ATTEMPTS\s+ENQUEUED\s+FINISHED\s+LAST ERROR$/,
    );
    expect(lines).toHaveLength(4);
    expect(table.stdout).toMatch(
      new RegExp(`${failed.id}\\s+FAILED\\s+mail\\s+test.countRun\\s+1`),
    );
    expect(table.stdout).toContain('Error: mailbox full');

    const json = await djtasks(db.url(), ['list', '--status', 'failed,ready', '--json']);
    const page = JSON.parse(json.stdout) as { results: { id: string }[]; next: string | null };
    expect(page.results.map((r) => r.id).sort()).toEqual([failed.id, ready.id].sort());
    expect(page.next).toBeNull();

    const byQueue = JSON.parse(
      (await djtasks(db.url(), ['list', '--queue', 'mail', '--json'])).stdout,
    );
    expect(byQueue.results.map((r: { id: string }) => r.id)).toEqual([failed.id]);
    const byWorker = JSON.parse(
      (await djtasks(db.url(), ['list', '--worker', 'w-2', '--json'])).stdout,
    );
    expect(byWorker.results.map((r: { id: string }) => r.id)).toEqual([done.id]);
    const byError = JSON.parse(
      (await djtasks(db.url(), ['list', '--error', 'MAILBOX', '--json'])).stdout,
    );
    expect(byError.results.map((r: { id: string }) => r.id)).toEqual([failed.id]);
    const byTask = JSON.parse(
      (await djtasks(db.url(), ['list', '--task', 'test.other', '--json'])).stdout,
    );
    expect(byTask.results).toEqual([]);

    const first = JSON.parse((await djtasks(db.url(), ['list', '--limit', '2', '--json'])).stdout);
    expect(first.results).toHaveLength(2);
    const second = JSON.parse(
      (await djtasks(db.url(), ['list', '--limit', '2', '--after', first.next, '--json'])).stdout,
    );
    expect(second.results).toHaveLength(1);
    expect(second.next).toBeNull();
    const all = [...first.results, ...second.results].map((r: { id: string }) => r.id).sort();
    expect(all).toEqual([failed.id, ready.id, done.id].sort());
    const more = await djtasks(db.url(), ['list', '--limit', '2']);
    expect(more.stdout).toContain(`More: add --after ${first.next}`);
  });

  it('refuses bad options with exit code 2 and a message naming them', async () => {
    const bad = await djtasks(db.url(), ['list', '--status', 'DONE']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('status must be one of');
    const limit = await djtasks(db.url(), ['list', '--limit', 'lots']);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('--limit');
    const unknown = await djtasks(db.url(), ['list', '--colour']);
    expect(unknown.code).toBe(2);
    const noId = await djtasks(db.url(), ['retry']);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain('retry takes one or more task result ids');
  });

  it('shows a result with its attempts and traceback, as text and JSON', async () => {
    const { failed } = await fixture();
    const text = await djtasks(db.url(), ['show', failed.id]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`Task result ${failed.id}`);
    expect(text.stdout).toContain('status:      FAILED');
    expect(text.stdout).toContain('#1 on w-1');
    expect(text.stdout).toContain('[1] Error: mailbox full');
    expect(text.stdout).toContain('at sendMail (mail.ts:10:5)');
    const json = JSON.parse((await djtasks(db.url(), ['show', failed.id, '--json'])).stdout);
    expect(json).toMatchObject({
      id: failed.id,
      status: 'FAILED',
      errors: [{ traceback: TRACEBACK }],
      attemptList: [{ number: 1, workerId: 'w-1', running: false }],
    });
    const missing = await djtasks(db.url(), ['show', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("TaskResultDoesNotExist: no task result 'nope'");
  });

  it('retries, cancels and deletes several ids, reporting each refusal by name', async () => {
    const { failed, ready, done } = await fixture();
    const retry = await djtasks(db.url(), ['retry', failed.id, done.id, '--json']);
    expect(retry.code).toBe(1);
    expect(JSON.parse(retry.stdout)).toEqual([
      { id: failed.id, ok: true, status: 'READY' },
      {
        id: done.id,
        ok: false,
        error: { name: 'TaskNotRetryable', message: expect.stringContaining('SUCCESSFUL') },
      },
    ]);
    const cancel = await djtasks(db.url(), ['cancel', ready.id, failed.id]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain(`cancelled ${ready.id} (now CANCELLED)`);
    const again = await djtasks(db.url(), ['cancel', done.id, 'missing']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('TaskAlreadyFinished');
    expect(again.stderr).toContain('TaskResultDoesNotExist');
    await db.sql(
      `update ${TASK_RESULT_TABLE} set status = 'RUNNING', lease_owner = 'w-9' where id = ?`,
      [done.id],
    );
    const del = await djtasks(db.url(), ['delete', ready.id, done.id]);
    expect(del.code).toBe(1);
    expect(del.stdout).toContain(`deleted ${ready.id}`);
    expect(del.stderr).toContain('TaskStillRunning');
    const rows = await db.sql<{ id: string; status: string }>(
      `select id, status from ${TASK_RESULT_TABLE} order by id`,
    );
    expect(rows.map((r) => [r.id, r.status]).sort()).toEqual(
      [
        [failed.id, TaskResultStatus.CANCELLED],
        [done.id, TaskResultStatus.RUNNING],
      ].sort(),
    );
  });
});
