/**
 * The project's settings, Django style: every knob in one object, read from the environment
 * here and nowhere else. Other modules import `settings` and never touch `process.env`.
 *
 * The one switch that matters for the articles: `TASK_BACKEND` = `immediate` | `threadpool` |
 * `database`. The same tasks and views run on all three.
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of the app (`apps/notifications-demo`). */
export const BASE_DIR = fileURLToPath(new URL('..', import.meta.url));

export const TASK_BACKENDS = ['immediate', 'threadpool', 'database'] as const;
/** Which djtasks backend runs the tasks. */
export type TaskBackendName = (typeof TASK_BACKENDS)[number];

export const EMAIL_BACKENDS = ['smtp', 'console', 'filebased', 'locmem'] as const;
/** Where outgoing email goes (Django's `EMAIL_BACKEND`). */
export type EmailBackendName = (typeof EMAIL_BACKENDS)[number];

/** The database: a SQLite file or a PostgreSQL server, from one URL. */
export type DatabaseSettings =
  { dialect: 'sqlite'; url: string; path: string } | { dialect: 'postgresql'; url: string };

export interface Settings {
  /** Show stack traces in error pages and log more. */
  DEBUG: boolean;
  /** Signs nothing secret-less: used for HMACs. Set it in production. */
  SECRET_KEY: string;
  /** Interface and port the web server binds (`0` = any free port). */
  HOST: string;
  PORT: number;
  /** The site's address as people reach it, used for links in emails. Defaults to the bound address. */
  SITE_URL: string | null;
  DATABASE: DatabaseSettings;
  TASK_BACKEND: TaskBackendName;
  /** Threads of the `threadpool` backend. */
  THREADPOOL_MAX_WORKERS: number;
  /** Tasks one `manage.ts worker` process runs at once (database backend). */
  WORKER_CONCURRENCY: number;
  /** Attempts of `generateReport` before the report is marked failed (where the backend retries). */
  REPORT_MAX_ATTEMPTS: number;
  /** Delay before the second attempt of a failed task, doubling after that. */
  TASK_RETRY_BASE_MS: number;
  /** One or more email backends, comma separated in the environment (`console,filebased`). */
  EMAIL_BACKEND: readonly EmailBackendName[];
  EMAIL_HOST: string;
  EMAIL_PORT: number;
  EMAIL_HOST_USER: string;
  EMAIL_HOST_PASSWORD: string;
  EMAIL_USE_TLS: boolean;
  /** Folder of the `filebased` backend's `.eml` files. */
  EMAIL_FILE_PATH: string;
  DEFAULT_FROM_EMAIL: string;
  /** Folder of generated files (`reports/report_<id>.pdf`). */
  MEDIA_ROOT: string;
  /** Mark cookies `Secure` and send HSTS (behind HTTPS). */
  SECURE_COOKIES: boolean;
  /** Largest request body accepted, in bytes. */
  MAX_BODY_BYTES: number;
  SESSION_COOKIE_AGE_SECONDS: number;
}

type Env = Readonly<Record<string, string | undefined>>;

class ImproperlyConfigured extends Error {
  override name = 'ImproperlyConfigured';
}

function oneOf<T extends string>(env: Env, key: string, allowed: readonly T[], fallback: T): T {
  const value = env[key]?.trim() || fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ImproperlyConfigured(`${key} must be one of ${allowed.join(', ')} (got '${value}')`);
  }
  return value as T;
}

function integer(env: Env, key: string, fallback: number, min = 0): number {
  const raw = env[key]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ImproperlyConfigured(`${key} must be a whole number >= ${min} (got '${raw}')`);
  }
  return value;
}

function flag(env: Env, key: string, fallback: boolean): boolean {
  const raw = env[key]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ImproperlyConfigured(`${key} must be true or false (got '${raw}')`);
}

function folder(env: Env, key: string, fallback: string): string {
  const raw = env[key]?.trim() || fallback;
  return isAbsolute(raw) ? raw : resolve(BASE_DIR, raw);
}

/** Parse `DATABASE_URL`: `sqlite:///abs/path.sqlite3`, `sqlite:relative.sqlite3` or `postgres(ql)://…`. */
export function parseDatabaseUrl(url: string): DatabaseSettings {
  if (/^postgres(ql)?:\/\//.test(url)) {
    return { dialect: 'postgresql', url: url.replace(/^postgres:/, 'postgresql:') };
  }
  const sqlite = /^sqlite:(?:\/\/)?(.+)$/.exec(url);
  if (sqlite?.[1]) {
    const file = sqlite[1];
    if (file === ':memory:' || file === '/:memory:') {
      throw new ImproperlyConfigured(
        'DATABASE_URL: an in-memory SQLite database cannot be shared with task workers; use a file',
      );
    }
    return { dialect: 'sqlite', url, path: isAbsolute(file) ? file : resolve(BASE_DIR, file) };
  }
  throw new ImproperlyConfigured(
    `DATABASE_URL must start with sqlite: or postgresql:// (got '${url.replace(/\/\/[^@/]*@/, '//***@')}')`,
  );
}

/** Build the settings from an environment (the process's, unless given). */
export function loadSettings(env: Env = process.env): Settings {
  const emailBackends = (env.EMAIL_BACKEND?.trim() || 'console')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of emailBackends) {
    if (!(EMAIL_BACKENDS as readonly string[]).includes(name)) {
      throw new ImproperlyConfigured(
        `EMAIL_BACKEND entries must be among ${EMAIL_BACKENDS.join(', ')} (got '${name}')`,
      );
    }
  }
  const debug = flag(env, 'DEBUG', false);
  const secret = env.SECRET_KEY?.trim();
  if (!secret && !debug && env.NODE_ENV === 'production') {
    throw new ImproperlyConfigured('SECRET_KEY must be set when NODE_ENV=production');
  }
  return {
    DEBUG: debug,
    // Without a configured key each process would get its own; derive one the web server and
    // its workers share from the database URL so development needs no setup.
    SECRET_KEY: secret || `insecure-dev-key:${env.DATABASE_URL ?? 'default'}`,
    HOST: env.HOST?.trim() || '127.0.0.1',
    PORT: integer(env, 'PORT', 8000),
    SITE_URL: env.SITE_URL?.trim().replace(/\/$/, '') || null,
    DATABASE: parseDatabaseUrl(env.DATABASE_URL?.trim() || 'sqlite:.data/db.sqlite3'),
    TASK_BACKEND: oneOf(env, 'TASK_BACKEND', TASK_BACKENDS, 'immediate'),
    THREADPOOL_MAX_WORKERS: integer(env, 'THREADPOOL_MAX_WORKERS', 2, 1),
    WORKER_CONCURRENCY: integer(env, 'WORKER_CONCURRENCY', 4, 1),
    REPORT_MAX_ATTEMPTS: integer(env, 'REPORT_MAX_ATTEMPTS', 3, 1),
    TASK_RETRY_BASE_MS: integer(env, 'TASK_RETRY_BASE_MS', 2000),
    EMAIL_BACKEND: emailBackends as EmailBackendName[],
    EMAIL_HOST: env.EMAIL_HOST?.trim() || '127.0.0.1',
    EMAIL_PORT: integer(env, 'EMAIL_PORT', 1025, 1),
    EMAIL_HOST_USER: env.EMAIL_HOST_USER ?? '',
    EMAIL_HOST_PASSWORD: env.EMAIL_HOST_PASSWORD ?? '',
    EMAIL_USE_TLS: flag(env, 'EMAIL_USE_TLS', false),
    EMAIL_FILE_PATH: folder(env, 'EMAIL_FILE_PATH', '.data/emails'),
    DEFAULT_FROM_EMAIL: env.DEFAULT_FROM_EMAIL?.trim() || 'Notifications <noreply@example.com>',
    MEDIA_ROOT: folder(env, 'MEDIA_ROOT', '.data/media'),
    SECURE_COOKIES: flag(env, 'SECURE_COOKIES', false),
    MAX_BODY_BYTES: integer(env, 'MAX_BODY_BYTES', 64 * 1024, 1024),
    SESSION_COOKIE_AGE_SECONDS: integer(env, 'SESSION_COOKIE_AGE_SECONDS', 14 * 24 * 3600, 60),
  };
}

/** The settings of this process. */
export const settings: Settings = loadSettings();

/** This process's environment with `overrides`, for starting the server or a worker as a child process. */
export function environmentWith(
  overrides: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  return { ...process.env, ...overrides };
}
