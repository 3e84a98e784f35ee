/**
 * The environment of test/admin.test.ts, set on this process before anything imports the
 * app's settings (which read it once): that test file imports this module first.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FOLDER = mkdtempSync(join(tmpdir(), 'demo-admin-'));
export const DATABASE_FILE = join(FOLDER, 'db.sqlite3');
export const ENV = {
  TASK_BACKEND: 'database',
  DATABASE_URL: `sqlite:${DATABASE_FILE}`,
  MEDIA_ROOT: join(FOLDER, 'media'),
  EMAIL_BACKEND: 'locmem',
  HOST: '0.0.0.0',
  ALLOWED_HOSTS: '*',
  METRICS: 'true',
};
Object.assign(process.env, ENV);
