/**
 * Every worker's part in firing periodic tasks: no leader; each worker looks at the schedules
 * of its backend about once a second (sooner when a tick is due), and fires each due tick in
 * a transaction that claims the tick on the schedule's row and inserts the task. A worker that
 * dies mid-way rolls back, and another one fires the tick on its next look.
 */
import type { EntityManager } from '@mikro-orm/sql';
import { InvalidSchedule, InvalidTask } from '@djtasks/tasks';
import {
  getTaskLogger,
  nextTick,
  scheduledTask,
  tickKey,
  ticksDue,
  type AnyTask,
  type Schedule,
} from '@djtasks/tasks/backend';
import { enqueueThrough, type DatabaseBackend } from './backend.ts';
import type { DialectName } from './dialect.ts';
import { claimTick, insertSchedule, recordTickTask, selectSchedules } from './sql/schedule.ts';

/** The longest a worker waits between two looks at its schedules. */
const MAX_WAIT_MS = 1000;

/**
 * The schedules the workers of `backend` fire: those whose task is defined with that backend.
 * Throws `InvalidSchedule` for a schedule whose task no loaded module defines (listing the
 * defined tasks), or that the backend refuses as it is defined (e.g. its queue is not one of
 * the backend's), so that a worker says so at start instead of failing at every tick.
 */
export function backendSchedules(
  backend: DatabaseBackend,
): { schedule: Schedule; task: AnyTask }[] {
  return backend.schedules
    .map((schedule) => ({ schedule, task: scheduledTask(schedule, backend.taskModules) }))
    .filter(({ task }) => task.backend === backend.alias)
    .map((entry) => {
      try {
        entry.task.using({ uniqueKey: tickKey(entry.schedule, new Date(0)) });
      } catch (error) {
        if (!(error instanceof InvalidTask)) throw error;
        throw new InvalidSchedule(
          entry.schedule.name,
          `Schedule '${entry.schedule.name}' cannot enqueue task '${entry.task.name}': ${error.message}`,
          { cause: error },
        );
      }
      return entry;
    });
}

/** What {@link runSchedules} needs from its worker. */
export interface ScheduleLoopOptions {
  backend: DatabaseBackend;
  em: EntityManager;
  dialect: DialectName;
  workerId: string;
  schedules: readonly { schedule: Schedule; task: AnyTask }[];
  stopping: () => boolean;
  sleep: (ms: number) => Promise<void>;
}

/** Until the worker stops: fire the due ticks of `schedules`, each once across all workers. */
export async function runSchedules(options: ScheduleLoopOptions): Promise<void> {
  const { backend, em, dialect, workerId, schedules } = options;
  if (schedules.length === 0) return;
  const log = getTaskLogger();
  while (!options.stopping()) {
    let wait = MAX_WAIT_MS;
    try {
      const now = new Date();
      const rows = new Map(
        (await selectSchedules(em, backend.alias)).map((row) => [row.name, row]),
      );
      for (const { schedule, task } of schedules) {
        const row = rows.get(schedule.name);
        if (!row) {
          await insertSchedule(em, dialect, backend.alias, schedule.name, now);
          continue;
        }
        let last = row.lastTickAt;
        for (const tick of ticksDue(schedule, last, now)) {
          if (options.stopping()) return;
          const fired = await fireTick(options, schedule, task, tick);
          if (fired)
            // One line per tick is noise at info level (every second for a per-second schedule).
            log.debug(
              `worker ${workerId}: schedule '${schedule.name}' enqueued its tick ${tick.toISOString()} as ${fired}`,
            );
          last = tick;
        }
        wait = Math.min(wait, nextTick(schedule, last > now ? last : now).getTime() - Date.now());
      }
    } catch (error) {
      log.warn(`worker ${workerId}: schedules pass failed (${(error as Error).message})`);
    }
    await options.sleep(Math.max(5, wait + 5));
  }
}

/** Claim `tick` and insert its task in one transaction; resolves with the task id, or null if another worker fired it. */
async function fireTick(
  options: ScheduleLoopOptions,
  schedule: Schedule,
  task: AnyTask,
  tick: Date,
): Promise<string | null> {
  const { backend, em, dialect } = options;
  return em.transactional(async (tem) => {
    const scoped = tem;
    // The claim comes first: it takes the row's write lock, so racing workers wait there and
    // then find the tick taken, instead of inserting a task they would have to roll back.
    if (!(await claimTick(scoped, dialect, backend.alias, schedule.name, tick))) return null;
    const keyed = task.using({ uniqueKey: tickKey(schedule, tick) });
    const result = await enqueueThrough(scoped, () => keyed.enqueue(...schedule.args));
    await recordTickTask(scoped, backend.alias, schedule.name, result.id);
    return result.id;
  });
}
