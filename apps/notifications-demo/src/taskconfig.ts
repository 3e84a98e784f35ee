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

/** Build the tasks configuration for `config.TASK_BACKEND`. */
export function tasksConfig(config: Settings = settings): TasksConfig<any> {
  switch (config.TASK_BACKEND) {
    case 'immediate':
      return defineConfig({
        backends: { default: { backend: ImmediateBackend } },
        taskModules: TASK_MODULES,
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
      });
    case 'database':
      return defineConfig({
        backends: {
          // The tasks table lives in the app's own database, through the app's ORM.
          default: { backend: DatabaseBackend, options: { orm: () => getOrm(config.DATABASE) } },
        },
        taskModules: TASK_MODULES,
      });
  }
}
