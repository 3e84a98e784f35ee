import type { TestDialect } from './helpers.ts';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configureTasks, type ScheduleConfig } from '@djtasks/tasks';
import { readDate } from '../src/dialect.ts';
// Defines test.countRun in this process too, for the worker started in-process.
import './fixtures/tasks.ts';
import { DatabaseBackend, SCHEDULE_TABLE, TASK_RESULT_TABLE } from '../src/index.ts';
import { Worker } from '../src/worker.ts';
import {
  startWorkerProcess,
  useWorkerDatabase,
  waitUntil,
  type WorkerProcess,
} from './processes.ts';

const BIN = fileURLToPath(new URL('../bin/djtasks.js', import.meta.url));
const CONFIG = fileURLToPath(new URL('./fixtures/djtasks.config.ts', import.meta.url));

/** The tick (epoch ms) each enqueued task of `schedule` is for, read from its unique key, oldest first. */
async function ticksOf(
  db: ReturnType<typeof useWorkerDatabase>,
  schedule: string,
): Promise<{ tick: number; enqueuedLateMs: number }[]> {
  const rows = await db.sql<{ unique_key: string; enqueued_at: unknown }>(
    `select unique_key, enqueued_at from ${TASK_RESULT_TABLE} where unique_key like ?`,
    [`schedule:${schedule}:%`],
  );
  return rows
    .map((row) => {
      const tick = Date.parse(row.unique_key.slice(`schedule:${schedule}:`.length));
      const enqueued = readDate(row.enqueued_at)!.getTime();
      return { tick, enqueuedLateMs: enqueued - tick };
    })
    .sort((a, b) => a.tick - b.tick);
}

function runCli(
  url: string,
  schedules: Record<string, ScheduleConfig>,
  args: string[],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, '--config', CONFIG, ...args], {
      env: {
        ...process.env,
        DJTASKS_TEST_DB: url,
        DJTASKS_TEST_SCHEDULES: JSON.stringify(schedules),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** Stop `workers` with SIGTERM and expect each to exit 0. */
async function stopAll(workers: WorkerProcess[]): Promise<void> {
  for (const worker of workers) worker.child.kill('SIGTERM');
  for (const worker of workers) {
    expect(await worker.exited, worker.output()).toEqual({ code: 0, signal: null });
  }
}

/** Periodic tasks fired by several worker processes on one database. */
export function schedulesSuite(dialect: TestDialect, workerCount: number): void {
  describe(`periodic tasks (${dialect})`, () => {
    const db = useWorkerDatabase(dialect);
    const everySecond = (extra: Partial<ScheduleConfig> = {}) => ({
      tick: { task: 'test.countRun', cron: '* * * * * *', ...extra },
    });
    const start = (schedules: Record<string, ScheduleConfig>, id: string) =>
      startWorkerProcess(db.url(), ['--interval', '0.5', '--worker-id', id], {
        DJTASKS_TEST_SCHEDULES: JSON.stringify(schedules),
      });

    it(`${workerCount} workers fire each tick of a every-second schedule once, while one is killed and restarted`, async () => {
      const schedules = everySecond();
      const workers = Array.from({ length: workerCount }, (_, i) => start(schedules, `w${i}`));
      await waitUntil('5 ticks fired', async () => (await ticksOf(db, 'tick')).length >= 5);
      workers[0]!.child.kill('SIGKILL');
      await workers[0]!.exited;
      const killedAt = Date.now();
      await waitUntil('4 more ticks fired', async () =>
        (await ticksOf(db, 'tick')).some(({ tick }) => tick >= killedAt + 4000),
      );
      workers[0] = start(schedules, 'w0-again');
      const restartedAt = Date.now();
      await waitUntil(
        '6 more ticks fired',
        async () => (await ticksOf(db, 'tick')).some(({ tick }) => tick >= restartedAt + 6000),
        60_000,
      );
      await stopAll(workers);
      const ticks = (await ticksOf(db, 'tick')).map(({ tick }) => tick);
      console.info(`${dialect}: ${ticks.length} ticks fired by ${workerCount} workers`);
      // One task per tick: no tick twice, and every second from the first to the last.
      expect(new Set(ticks).size).toBe(ticks.length);
      const first = ticks[0]!;
      const last = ticks.at(-1)!;
      expect(ticks).toEqual(
        Array.from({ length: (last - first) / 1000 + 1 }, (_, i) => first + i * 1000),
      );
      expect(ticks.length).toBeGreaterThanOrEqual(15);
      const [row] = await db.sql<{ last_tick_at: unknown; last_task_id: string }>(
        `select last_tick_at, last_task_id from ${SCHEDULE_TABLE} where name = 'tick'`,
      );
      const lastTick = readDate(row!.last_tick_at)!.getTime();
      expect(lastTick).toBe(last);
      // The workers ran the tasks: all but the last tick's (enqueued as they stopped) and one the
      // killed worker may have held (its lease has not run out yet).
      expect(
        await db.count(
          `select count(*) from ${TASK_RESULT_TABLE} where unique_key like 'schedule:tick:%' and status <> 'SUCCESSFUL'`,
        ),
      ).toBeLessThanOrEqual(2);
    }, 120_000);

    for (const catchUp of ['skip', { fill: 2 }] as const) {
      it(`catch-up ${JSON.stringify(catchUp)}: ticks missed while no worker ran are ${catchUp === 'skip' ? 'dropped' : 'filled, the 2 most recent'}`, async () => {
        const schedules = everySecond({ catchUp, graceSeconds: 1 });
        let worker = start(schedules, 'first');
        await waitUntil('2 ticks fired', async () => (await ticksOf(db, 'tick')).length >= 2);
        await stopAll([worker]);
        const before = await ticksOf(db, 'tick');
        const lastBefore = before.at(-1)!.tick;
        await sleep(5000);
        worker = start(schedules, 'second');
        await waitUntil(
          '2 ticks fired after the restart',
          async () =>
            (await ticksOf(db, 'tick')).filter(({ tick }) => tick > lastBefore + 5000).length >= 2,
        );
        await stopAll([worker]);
        const after = (await ticksOf(db, 'tick')).filter(({ tick }) => tick > lastBefore);
        // After the restart the ticks run without a hole from the first one the restarted worker
        // fired. Its first look at time R fires the tick within the 1 s grace (floor(R)), and
        // under { fill: 2 } the two before it too: so that first tick was enqueued less than
        // 1 s after its time (skip), or 2 to 3 s after it (fill), plus the pass's own delay.
        const ticks = after.map(({ tick }) => tick);
        expect(ticks).toEqual(ticks.map((_, i) => ticks[0]! + i * 1000));
        const firstLate = after[0]!.enqueuedLateMs;
        const gap = (after[0]!.tick - lastBefore) / 1000 - 1;
        if (catchUp === 'skip') {
          expect(firstLate).toBeLessThan(1900);
          expect(gap).toBeGreaterThanOrEqual(3);
        } else {
          expect(firstLate).toBeGreaterThanOrEqual(2000);
          expect(firstLate).toBeLessThan(3900);
          // Not every missed tick was filled: only the two most recent.
          expect(gap).toBeGreaterThanOrEqual(1);
        }
        expect(new Set(after.map(({ tick }) => tick)).size).toBe(after.length);
      }, 60_000);
    }

    it('a worker refuses at start a schedule whose task the backend refuses (a queue it does not take)', async () => {
      configureTasks({
        backends: {
          default: { backend: DatabaseBackend, queues: ['other'], options: { database: db.url() } },
        },
        schedules: { tick: { task: 'test.countRun', cron: '* * * * * *' } },
      });
      await expect(new Worker({ startupDelay: false }).run()).rejects.toThrow(
        "Schedule 'tick' cannot enqueue task 'test.countRun': Queue 'default' is not valid for backend 'default' (valid: 'other').",
      );
    });

    it('djtasks schedules lists each schedule with its last and next run; a worker refuses a schedule of an unknown task', async () => {
      const schedules = {
        ...everySecond(),
        nightly: { task: 'test.countRun', cron: '30 2 * * *', timezone: 'Europe/Paris' },
      };
      const worker = start(schedules, 'lister');
      await waitUntil('a tick fired', async () => (await ticksOf(db, 'tick')).length >= 1);
      await stopAll([worker]);
      const listed = await runCli(db.url(), schedules, ['schedules', '--json']);
      expect(listed.code, listed.output).toBe(0);
      const reports = JSON.parse(listed.output) as {
        name: string;
        lastRunAt: string | null;
        lastTaskId: string | null;
        lastTaskStatus: string | null;
        nextRunAt: string;
      }[];
      const tick = reports.find((r) => r.name === 'tick')!;
      const ticks = await ticksOf(db, 'tick');
      expect(Date.parse(tick.lastRunAt!)).toBe(ticks.at(-1)!.tick);
      expect(tick.lastTaskId).toMatch(/.+/);
      const nightly = reports.find((r) => r.name === 'nightly')!;
      expect(nightly.lastRunAt).toBeNull();
      // 02:30 in Paris is 00:30 or 01:30 UTC.
      expect(nightly.nextRunAt).toMatch(/T0[01]:30:00.000Z$/);
      const text = await runCli(db.url(), schedules, ['schedules']);
      expect(text.output).toContain(
        'nightly\ttest.countRun\t30 2 * * *\tEurope/Paris\tskip\tnever',
      );

      const unknown = startWorkerProcess(db.url(), [], {
        DJTASKS_TEST_SCHEDULES: JSON.stringify({
          digest: { task: 'sendDigest', cron: '0 8 * * *' },
        }),
      });
      expect(await unknown.exited).toEqual({ code: 2, signal: null });
      expect(unknown.output()).toMatch(
        /Schedule 'digest' enqueues task 'sendDigest', which no loaded module defines \(task modules: .*tasks\.ts; tasks defined: .*test\.countRun/,
      );
    }, 60_000);
  });
}
