/**
 * The settings `./dev demo` runs with: a SQLite file in `.data/demo/`, the database backend,
 * email saved as `.eml` files there, one line per task and email. `djtasks.config.ts` uses
 * the same defaults, so `djtasks status` in this folder looks at the demo's queue.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
export const DATA_DIR = join(APP_DIR, '.data', 'demo');

/** The demo's environment for `backend` (the database backend unless told). */
export function demoEnvironment(backend = 'database'): Record<string, string> {
  return {
    TASK_BACKEND: backend,
    DATABASE_URL: `sqlite:${join(DATA_DIR, 'db.sqlite3')}`,
    MEDIA_ROOT: join(DATA_DIR, 'media'),
    EMAIL_BACKEND: 'filebased',
    EMAIL_FILE_PATH: join(DATA_DIR, 'emails'),
    LOG_TASKS: 'true',
  };
}
