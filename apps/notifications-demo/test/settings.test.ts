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
    expect(() => loadSettings({ NODE_ENV: 'production' })).toThrow('SECRET_KEY must be set');
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
