/**
 * SQLite has no connection to cut; what can go wrong inside its transactions is an error
 * (a busy lock, a full disk, an I/O error). A trigger raises one at random for 1 row in 50,
 * so that about one claim or outcome write of ten rows in six fails, inside the worker's
 * BEGIN IMMEDIATE transactions and single statements alike: the worker must roll back, keep
 * its connection usable, and drain.
 */
import { describe, expect, it } from 'vitest';
import { TASK_RESULT_TABLE } from '../src/index.ts';
import { countRunRetried } from './fixtures/tasks.ts';
import { RUNS_TABLE } from './fixtures/side-table.ts';
import { startWorkerProcess, useWorkerDatabase, waitUntil } from './processes.ts';

describe('errors inside transactions (sqlite)', () => {
  const db = useWorkerDatabase('sqlite');

  it('drains 500 tasks through injected errors in claims and outcome writes, runs each once, and exits 0', async () => {
    const total = 500;
    await countRunRetried.enqueueMany(Array.from({ length: total }, () => [] as []));
    await db.sql(
      `create trigger fault_claim before update of status on ${TASK_RESULT_TABLE} ` +
        `when old.status = 'READY' and new.status = 'RUNNING' and abs(random()) % 50 = 0 ` +
        `begin select raise(abort, 'injected fault in a claim'); end`,
    );
    await db.sql(
      `create trigger fault_outcome before update of status on ${TASK_RESULT_TABLE} ` +
        `when old.status = 'RUNNING' and new.status <> 'RUNNING' and abs(random()) % 50 = 0 ` +
        `begin select raise(abort, 'injected fault in an outcome'); end`,
    );
    const worker = startWorkerProcess(db.url(), [
      '--concurrency',
      '10',
      '--interval',
      '0.2',
      '--worker-id',
      'faulty',
    ]);
    await waitUntil(
      'every task is done',
      async () =>
        (await db.count(
          `select count(*) from ${TASK_RESULT_TABLE} where status = 'SUCCESSFUL'`,
        )) === total,
      120_000,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${worker.output().slice(-3000)}`);
    });
    await db.sql(`drop trigger fault_claim`);
    await db.sql(`drop trigger fault_outcome`);
    worker.child.kill('SIGTERM');
    expect(await worker.exited, worker.output()).toEqual({ code: 0, signal: null });
    expect(worker.output()).toContain('injected fault in a claim');
    expect(worker.output()).toContain('injected fault in an outcome');
    expect(await db.count(`select count(*) from ${RUNS_TABLE}`)).toBe(total);
    expect(await db.count(`select count(distinct task_id) from ${RUNS_TABLE}`)).toBe(total);
    expect(await db.count(`select count(*) from ${TASK_RESULT_TABLE} where attempts <> 1`)).toBe(0);
  }, 180_000);
});
