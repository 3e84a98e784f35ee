import type { TestDialect } from './helpers.ts';
import { describe, expect, it } from 'vitest';
import { TaskResultStatus } from '@djtasks/tasks';
import { BadTaskRow, TASK_RESULT_TABLE } from '../src/index.ts';
import { countRun, returnsRefused } from './fixtures/tasks.ts';
import { RUNS_TABLE } from './fixtures/side-table.ts';
import { startWorkerProcess, useWorkerDatabase } from './processes.ts';

/** One bad row fails alone: never the worker process, never its batch-mates, never the queue. */
export function badRowsSuite(dialect: TestDialect): void {
  describe(`bad rows (${dialect})`, () => {
    const db = useWorkerDatabase(dialect);
    const pg = dialect === 'postgresql';
    const maria = dialect === 'mariadb';
    /** A timestamp column's damage: PostgreSQL's infinities, MariaDB's zero date, SQLite's free text. */
    const damage = (pgValue: string, sqliteValue: string) =>
      pg ? `'${pgValue}'` : maria ? `'0000-00-00 00:00:00'` : `'${sqliteValue}'`;

    it('fails each undecodable row with BadTaskRow naming the column, while its batch-mates run', async () => {
      // Every kind of damage, each in its own READY row, claimed in one batch with good rows.
      const bad: Record<string, { column: string; set: string }> = {
        'bad-enqueued-at': {
          column: 'enqueued_at',
          set: `enqueued_at = ${damage('-infinity', 'long ago')}`,
        },
        'bad-run-after': {
          column: 'run_after',
          set: `run_after = ${damage('infinity', 'never')}`,
        },
        'bad-started-at': {
          column: 'started_at',
          set: `started_at = ${damage('-infinity', 'yesterday')}`,
        },
        'bad-worker-ids': { column: 'worker_ids', set: `worker_ids = 'worker-1, worker-2'` },
        'bad-errors': { column: 'errors', set: `errors = '[{"oops"'` },
        'bad-args': { column: 'args', set: `args = '{not json'` },
        'bad-task-name': { column: 'task_name', set: `task_name = 'no.such.task'` },
      };
      const good = await countRun.enqueueMany(Array.from({ length: 20 }, () => [] as []));
      const victims = await countRun.enqueueMany(Object.keys(bad).map(() => [] as []));
      for (const [i, [id, { set }]] of Object.entries(bad).entries()) {
        await db.sql(`update ${TASK_RESULT_TABLE} set id = ?, ${set} where id = ?`, [
          id,
          victims[i]!.id,
        ]);
      }
      const worker = startWorkerProcess(db.url(), [
        '--batch',
        '--concurrency',
        '40',
        '--worker-id',
        'batch',
      ]);
      expect(await worker.exited, worker.output()).toEqual({ code: 0, signal: null });
      for (const result of good) {
        await result.refresh();
        expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
        expect(result.attempts).toBe(1);
        expect(result.errors).toEqual([]);
      }
      expect(await db.count(`select count(*) from ${RUNS_TABLE}`)).toBe(good.length);
      for (const [id, { column }] of Object.entries(bad)) {
        const [row] = await db.sql<{ status: string; errors: string; attempts: number }>(
          `select status, errors, attempts from ${TASK_RESULT_TABLE} where id = ?`,
          [id],
        );
        expect(row!.status, id).toBe('FAILED');
        expect(Number(row!.attempts), id).toBe(1);
        const errors = JSON.parse(row!.errors) as { exceptionClassPath: string; message: string }[];
        const last = errors.at(-1)!;
        expect(last.exceptionClassPath, id).toBe('BadTaskRow');
        expect(last.message, id).toContain(`Task result ${id}: column ${column} `);
        expect(worker.output()).toContain(`Task result ${id}: column ${column} `);
      }
      // Reading such a row names the column too.
      await expect(countRun.getResult('bad-enqueued-at')).rejects.toThrow(BadTaskRow);
      await expect(countRun.getResult('bad-enqueued-at')).rejects.toThrow('column enqueued_at');
    });

    it.runIf(dialect !== 'sqlite')(
      'reports a row with a status this version does not know as a BadTaskRow and never claims it',
      async () => {
        await db.sql(
          `alter table ${TASK_RESULT_TABLE} drop constraint ${TASK_RESULT_TABLE}_status_check`,
        );
        try {
          const [result] = await countRun.enqueueMany([[], []]);
          await db.sql(`update ${TASK_RESULT_TABLE} set status = 'PAUSED' where id = ?`, [
            result!.id,
          ]);
          await expect(countRun.getResult(result!.id)).rejects.toThrow(
            `Task result ${result!.id}: column status holds 'PAUSED'`,
          );
          const worker = startWorkerProcess(db.url(), ['--batch', '--worker-id', 'batch']);
          expect(await worker.exited, worker.output()).toEqual({ code: 0, signal: null });
          expect(await db.count(`select count(*) from ${RUNS_TABLE}`)).toBe(1);
        } finally {
          await db.sql(`delete from ${TASK_RESULT_TABLE}`);
          await db.sql(
            `alter table ${TASK_RESULT_TABLE} add constraint ${TASK_RESULT_TABLE}_status_check ` +
              `check (status in ('READY', 'RUNNING', 'SUCCESSFUL', 'FAILED'))`,
          );
        }
      },
    );

    it('stores an outcome the database refuses as FAILED (OutcomeNotStored), while the outcomes written with it are stored', async () => {
      // An app's trigger or constraint that refuses one task's return value.
      if (pg) {
        await db.sql(
          `create function refuse_outcome() returns trigger language plpgsql as $$ begin ` +
            `if new.return_value = '"refuse me"' then raise exception 'this return value is refused'; end if; ` +
            `return new; end $$`,
        );
        await db.sql(
          `create trigger refuse_outcome before update on ${TASK_RESULT_TABLE} for each row execute function refuse_outcome()`,
        );
      } else if (maria) {
        await db.sql(
          `create trigger refuse_outcome before update on ${TASK_RESULT_TABLE} for each row begin ` +
            `if new.return_value = '"refuse me"' then ` +
            `signal sqlstate '45000' set message_text = 'this return value is refused'; end if; end`,
        );
      } else {
        await db.sql(
          `create trigger refuse_outcome before update on ${TASK_RESULT_TABLE} when new.return_value = '"refuse me"' ` +
            `begin select raise(abort, 'this return value is refused'); end`,
        );
      }
      try {
        const good = await countRun.enqueueMany(Array.from({ length: 10 }, () => [] as []));
        const refused = await returnsRefused.enqueue();
        const worker = startWorkerProcess(db.url(), [
          '--batch',
          '--concurrency',
          '20',
          '--worker-id',
          'batch',
        ]);
        expect(await worker.exited, worker.output()).toEqual({ code: 0, signal: null });
        for (const result of good) {
          await result.refresh();
          expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
        }
        await refused.refresh();
        expect(refused.status).toBe(TaskResultStatus.FAILED);
        expect(refused.errors.map((e) => e.exceptionClassPath)).toEqual(['OutcomeNotStored']);
        expect(refused.errors[0]!.message).toContain('this return value is refused');
      } finally {
        await db.sql(`drop trigger refuse_outcome${pg ? ` on ${TASK_RESULT_TABLE}` : ''}`);
        if (pg) await db.sql(`drop function refuse_outcome()`);
      }
    });
  });
}
