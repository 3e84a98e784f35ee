/** The settings: one environment variable picks the task backend; bad values say what is wrong. */
import { describe, expect, it } from 'vitest';
import { loadSettings, parseDatabaseUrl } from '../src/settings.ts';
import { tasksConfig } from '../src/taskconfig.ts';

describe('loadSettings', () => {
  it('defaults to the immediate backend, SQLite and console email', () => {
    const settings = loadSettings({});
    expect(settings.TASK_BACKEND).toBe('immediate');
    expect(settings.DATABASE.dialect).toBe('sqlite');
    expect(settings.EMAIL_BACKEND).toEqual(['console']);
  });

  it('picks the task backend class from TASK_BACKEND alone', () => {
    const names = (['immediate', 'threadpool', 'database'] as const).map(
      (backend) =>
        tasksConfig(loadSettings({ TASK_BACKEND: backend })).backends.default?.backend.name,
    );
    expect(names).toEqual(['ImmediateBackend', 'ThreadPoolBackend', 'DatabaseBackend']);
  });

  it('names the variable and the value it refuses', () => {
    expect(() => loadSettings({ TASK_BACKEND: 'celery' })).toThrow(
      "TASK_BACKEND must be one of immediate, threadpool, database (got 'celery')",
    );
    expect(() => loadSettings({ EMAIL_BACKEND: 'console,pigeon' })).toThrow(
      "EMAIL_BACKEND entries must be among smtp, console, filebased, locmem (got 'pigeon')",
    );
    expect(() => loadSettings({ PORT: 'eighty' })).toThrow(
      "PORT must be a whole number >= 0 (got 'eighty')",
    );
    expect(() => loadSettings({ PORT: '70000' })).toThrow(
      "PORT must be a port (0 to 65535) (got '70000')",
    );
    expect(() => loadSettings({ DEBUG: 'maybe' })).toThrow(
      "DEBUG must be true or false (got 'maybe')",
    );
    expect(() => loadSettings({ SITE_URL: 'javascript:alert(1)' })).toThrow(/^SITE_URL must be/);
  });

  it('builds ALLOWED_HOSTS from SITE_URL, with the loopback names only in development', () => {
    expect(loadSettings({}).ALLOWED_HOSTS).toEqual(['localhost', '127.0.0.1', '[::1]']);
    expect(loadSettings({ SITE_URL: 'https://demo.example/' })).toMatchObject({
      SITE_URL: 'https://demo.example',
      ALLOWED_HOSTS: ['demo.example', 'localhost', '127.0.0.1', '[::1]'],
    });
    expect(loadSettings({ ALLOWED_HOSTS: ' a.example , .b.example ' }).ALLOWED_HOSTS).toEqual([
      'a.example',
      '.b.example',
    ]);
    expect(loadSettings({ ...PRODUCTION }).ALLOWED_HOSTS).toEqual(['demo.example']);
  });
});

const PRODUCTION = {
  NODE_ENV: 'production',
  SECRET_KEY: 'k'.repeat(50),
  SITE_URL: 'https://demo.example',
  TASK_BACKEND: 'database',
  EMAIL_BACKEND: 'smtp',
};

describe('production (NODE_ENV=production)', () => {
  it('starts with safe settings', () => {
    expect(loadSettings(PRODUCTION)).toMatchObject({ PRODUCTION: true, DEBUG: false });
  });

  it('refuses DEBUG, console or locmem email, the immediate backend, a missing or short key', () => {
    const refused: [Record<string, string | undefined>, string][] = [
      [{ DEBUG: 'true' }, 'DEBUG must be off in production'],
      [{ EMAIL_BACKEND: 'console' }, 'EMAIL_BACKEND=console delivers no email'],
      [{ EMAIL_BACKEND: 'smtp,locmem' }, 'EMAIL_BACKEND=locmem delivers no email'],
      [{ TASK_BACKEND: 'immediate' }, 'TASK_BACKEND=immediate runs tasks inside requests'],
      [{ TASK_BACKEND: undefined }, 'TASK_BACKEND=immediate'],
      [{ SECRET_KEY: undefined }, 'SECRET_KEY must be set in production'],
      [{ SECRET_KEY: 'short' }, 'SECRET_KEY must have at least 32 characters (it has 5)'],
      [{ SITE_URL: undefined }, 'SITE_URL must be set in production'],
    ];
    for (const [change, message] of refused) {
      expect(() => loadSettings({ ...PRODUCTION, ...change }), message).toThrow(
        /^Refusing to start in production: /,
      );
      expect(() => loadSettings({ ...PRODUCTION, ...change })).toThrow(message);
    }
    // Every problem at once, so one start-up shows them all.
    expect(() => loadSettings({ NODE_ENV: 'production', DEBUG: 'on' })).toThrow(
      /DEBUG must be off.*SECRET_KEY must be set.*EMAIL_BACKEND=console.*TASK_BACKEND=immediate.*SITE_URL must be set/,
    );
  });

  it('exits with one line, not a stack trace, when a process starts with bad settings', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const run = promisify(execFile);
    const failure = await run(process.execPath, ['src/main.ts'], {
      cwd: new URL('..', import.meta.url).pathname,
      env: { ...process.env, NODE_ENV: 'production', DEBUG: 'true' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    const stderr = (failure as { stderr: string }).stderr;
    expect(stderr).toMatch(/^error: Refusing to start in production: DEBUG must be off/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('parseDatabaseUrl', () => {
  it('reads SQLite files and PostgreSQL URLs', () => {
    expect(parseDatabaseUrl('sqlite:///var/db.sqlite3')).toMatchObject({
      dialect: 'sqlite',
      path: '/var/db.sqlite3',
    });
    expect(parseDatabaseUrl('postgres://u:p@db:5432/app')).toEqual({
      dialect: 'postgresql',
      url: 'postgresql://u:p@db:5432/app',
    });
  });

  it('refuses in-memory SQLite and unknown schemes, without printing passwords', () => {
    expect(() => parseDatabaseUrl('sqlite::memory:')).toThrow(/cannot be shared/);
    expect(() => parseDatabaseUrl('mysql://root:secret@db/app')).toThrow(
      "DATABASE_URL must start with sqlite: or postgresql:// (got 'mysql://***@db/app')",
    );
  });
});
