/**
 * Django's `TASKS` setting: which backend runs the tasks, from `settings.TASK_BACKEND`.
 * The tasks and views are the same for all three; only this object changes.
 */
import { DatabaseBackend } from '@djtasks/backend-db';
import { ThreadPoolBackend } from '@djtasks/backend-local';
import { defineConfig, ImmediateBackend, type TasksConfig } from '@djtasks/tasks';
import { getOrm } from './db.ts';
import { settings, type Settings } from './settings.ts';

/** The module that defines the tasks; worker threads and processes import it. */
export const TASK_MODULES = [new URL('./tasks.ts', import.meta.url)];

/**
 * Periodic tasks: the daily digest email (DIGEST_CRON, 18:00 UTC by default; a bad expression
 * or time zone is refused at start). On the database backend every worker
 * takes part and the database makes sure each day's digest is enqueued once; on the thread
 * pool (and Immediate) the app process fires it.
 */
export function schedules(config: Settings = settings) {
  return {
    dailyDigest: {
      task: 'notifications.sendDailyDigest',
      cron: config.DIGEST_CRON,
      timezone: config.DIGEST_TIMEZONE,
      args: [config.SITE_URL],
    },
  };
}

/** Build the tasks configuration for `config.TASK_BACKEND`. */
export function tasksConfig(config: Settings = settings): TasksConfig<any> {
  switch (config.TASK_BACKEND) {
    case 'immediate':
      return defineConfig({
        backends: { default: { backend: ImmediateBackend } },
        taskModules: TASK_MODULES,
        schedules: schedules(config),
      });
    case 'threadpool':
      return defineConfig({
        backends: {
          default: {
            backend: ThreadPoolBackend,
            options: {
              maxWorkers: config.THREADPOOL_MAX_WORKERS,
              threadSetup: new URL('./threadsetup.ts', import.meta.url),
            },
          },
        },
        taskModules: TASK_MODULES,
        schedules: schedules(config),
      });
    case 'database':
      return defineConfig({
        backends: {
          // The tasks table lives in the app's own database, through the app's ORM.
          default: { backend: DatabaseBackend, options: { orm: () => getOrm(config.DATABASE) } },
        },
        taskModules: TASK_MODULES,
        schedules: schedules(config),
      });
  }
}
