/** What `djtasks schedules` shows: each configured schedule with its last and next run. */
import type { EntityManager } from '@mikro-orm/sql';
import { getRegisteredTask, nextTick } from '@djtasks/tasks/backend';
import type { DatabaseBackend } from './backend.ts';
import { selectSchedules } from './sql/schedule.ts';
import { TASK_RESULT_TABLE } from './schema.ts';

/** One schedule as `djtasks schedules` reports it. */
export interface ScheduleReport {
  name: string;
  task: string;
  cron: string;
  timezone: string;
  catchUp: string;
  /** The last tick a worker enqueued, or `null` if none yet. */
  lastRunAt: Date | null;
  /** The task that tick enqueued, and its status now (`null` once pruned). */
  lastTaskId: string | null;
  lastTaskStatus: string | null;
  /** The next tick to be enqueued. */
  nextRunAt: Date;
  /** Why no worker of this backend fires it, when none does (its task is not defined here, or runs on another backend). */
  problem: string | null;
}

/** Report the configured schedules and what the database knows of them. */
export async function scheduleReport(backend: DatabaseBackend): Promise<ScheduleReport[]> {
  const em = (await backend.getOrm()).em.fork() as unknown as EntityManager;
  const rows = new Map((await selectSchedules(em, backend.alias)).map((row) => [row.name, row]));
  const now = new Date();
  const reports: ScheduleReport[] = [];
  for (const schedule of backend.schedules) {
    const row = rows.get(schedule.name);
    const fired = row?.lastTaskId != null;
    let lastTaskStatus: string | null = null;
    if (fired) {
      const found = await em.execute<{ status: string }[]>(
        `select status from ${TASK_RESULT_TABLE} where id = ?`,
        [row.lastTaskId],
      );
      lastTaskStatus = found[0]?.status ?? null;
    }
    const task = getRegisteredTask(schedule.task);
    const after = row && row.lastTickAt > now ? row.lastTickAt : now;
    reports.push({
      name: schedule.name,
      task: schedule.task,
      cron: schedule.cron,
      timezone: schedule.timezone,
      catchUp: schedule.catchUp === 'skip' ? 'skip' : `fill ${schedule.catchUp.fill}`,
      lastRunAt: fired ? row.lastTickAt : null,
      lastTaskId: fired ? row.lastTaskId : null,
      lastTaskStatus,
      nextRunAt: nextTick(schedule, after),
      problem: !task
        ? `task '${schedule.task}' is not defined by the task modules`
        : task.backend !== backend.alias
          ? `its task runs on backend '${task.backend}'`
          : null,
    });
  }
  return reports;
}
