/**
 * The project's settings, Django style: every knob in one object, read from the environment
 * here and nowhere else. Other modules import `settings` and never touch `process.env`.
 * The environment is parsed by one zod schema; production refuses what is only safe in
 * development (`DEBUG`, console email, the immediate backend, no `SECRET_KEY`).
 *
 * The one switch that matters for the articles: `TASK_BACKEND` = `immediate` | `threadpool` |
 * `database`. The same tasks and views run on all three.
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

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

/** The settings are wrong; the message names the variable and the value. */
export class ImproperlyConfigured extends Error {
  override name = 'ImproperlyConfigured';
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

const integer = (fallback: number, min = 0) =>
  z.coerce
    .number({ error: `must be a whole number >= ${min}` })
    .int({ error: `must be a whole number >= ${min}` })
    .min(min, { error: `must be a whole number >= ${min}` })
    .default(fallback);
const flag = (fallback: boolean) =>
  z.stringbool({ error: 'must be true or false' }).default(fallback);
const list = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);
const folder = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) => (isAbsolute(value) ? value : resolve(BASE_DIR, value)));

/** The environment variables the app reads, with their defaults. */
const environment = z.object({
  NODE_ENV: z.string().default('development'),
  /** Show error details in pages and log every request. */
  DEBUG: flag(false),
  /** Signs the session cookie. Required in production. */
  SECRET_KEY: z.string().optional(),
  /** Interface and port the web server binds (`0` = any free port). */
  HOST: z.string().default('127.0.0.1'),
  PORT: integer(8000).pipe(z.number().max(65535, { error: 'must be a port (0 to 65535)' })),
  /** The site's address as people reach it: every absolute link (emails) is built from it. */
  SITE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://example.com' })
    .transform((value) => value.replace(/\/+$/, ''))
    .optional(),
  /** Host names this site answers for (Django's ALLOWED_HOSTS); `.example.com` matches subdomains. */
  ALLOWED_HOSTS: list.optional(),
  /** Origins allowed to POST besides the site's own (Django's CSRF_TRUSTED_ORIGINS). */
  CSRF_TRUSTED_ORIGINS: list.default([]),
  /** Behind a reverse proxy: trust its X-Forwarded-For / -Proto / -Host headers. */
  TRUST_PROXY: flag(false),
  DATABASE_URL: z.string().default('sqlite:.data/db.sqlite3').transform(parseDatabaseUrl),
  TASK_BACKEND: z
    .enum(TASK_BACKENDS, { error: `must be one of ${TASK_BACKENDS.join(', ')}` })
    .default('immediate'),
  THREADPOOL_MAX_WORKERS: integer(2, 1),
  WORKER_CONCURRENCY: integer(4, 1),
  REPORT_MAX_ATTEMPTS: integer(3, 1),
  TASK_RETRY_BASE_MS: integer(2000),
  /** One or more email backends, comma separated (`console,filebased`). */
  EMAIL_BACKEND: list
    .default(['console'])
    .pipe(
      z.array(
        z.enum(EMAIL_BACKENDS, { error: `entries must be among ${EMAIL_BACKENDS.join(', ')}` }),
      ),
    ),
  EMAIL_HOST: z.string().default('127.0.0.1'),
  EMAIL_PORT: integer(1025, 1),
  EMAIL_HOST_USER: z.string().default(''),
  EMAIL_HOST_PASSWORD: z.string().default(''),
  EMAIL_USE_TLS: flag(false),
  EMAIL_FILE_PATH: folder('.data/emails'),
  DEFAULT_FROM_EMAIL: z.string().default('Notifications <noreply@example.com>'),
  MEDIA_ROOT: folder('.data/media'),
  /** Mark cookies `Secure` and send HSTS (behind HTTPS). */
  SECURE_COOKIES: flag(false),
  MAX_BODY_BYTES: integer(64 * 1024, 1024),
  SESSION_COOKIE_AGE_SECONDS: integer(14 * 24 * 3600, 60),
  /** A request must arrive whole (headers and body) within this time. */
  REQUEST_TIMEOUT_SECONDS: integer(30, 1),
  /** A connection with no request arriving or being answered for this long is closed. */
  CONNECTION_IDLE_TIMEOUT_SECONDS: integer(10, 1),
  /** Rate limits, per window: login and registration attempts per client IP and per address. */
  RATE_LIMIT_WINDOW_SECONDS: integer(15 * 60, 1),
  LOGIN_LIMIT_PER_IP: integer(50, 1),
  LOGIN_LIMIT_PER_ACCOUNT: integer(10, 1),
  REGISTER_LIMIT_PER_IP: integer(20, 1),
  REGISTER_LIMIT_PER_ACCOUNT: integer(3, 1),
  /** Print one line per task started and finished (`./dev demo` turns it on). */
  LOG_TASKS: flag(false),
  /** A TTF/OTF for what DejaVu Sans lacks in report PDFs (CJK); `none` for none. */
  PDF_FALLBACK_FONT: z
    .string()
    .default('/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf'),
  /** Reports one user may have pending at once. */
  MAX_UNFINISHED_REPORTS: integer(5, 1),
  /** When the daily digest of reports is emailed: a cron expression (optional seconds first). */
  DIGEST_CRON: z.string().default('0 18 * * *'),
  /** The time zone `DIGEST_CRON` is read in (IANA name). */
  DIGEST_TIMEZONE: z.string().default('UTC'),
  /** Serve `/metrics` (Prometheus text) from the web process, to staff and local requests. */
  METRICS: flag(true),
  /**
   * OpenTelemetry's own variables. Tracing is on when `OTEL_TRACES_EXPORTER` is set (`otlp`,
   * `console`, `zipkin`; not `none`) and `OTEL_SDK_DISABLED` is not true; the SDK then reads
   * every other `OTEL_*` variable itself (endpoint, protocol, sampler, resource, ...).
   */
  OTEL_TRACES_EXPORTER: z.string().optional(),
  OTEL_SDK_DISABLED: flag(false),
  /** @defaultValue `notifications-demo-web` / `notifications-demo-worker` */
  OTEL_SERVICE_NAME: z.string().optional(),
});

type Parsed = z.output<typeof environment>;

/** The parsed settings (see the schema above for each one's meaning and default). */
export type Settings = Omit<
  Parsed,
  'DATABASE_URL' | 'ALLOWED_HOSTS' | 'SECRET_KEY' | 'SITE_URL'
> & {
  DATABASE: DatabaseSettings;
  SECRET_KEY: string;
  SITE_URL: string | null;
  ALLOWED_HOSTS: readonly string[];
  /** Whether this is a production deployment (`NODE_ENV=production`). */
  PRODUCTION: boolean;
  /** Whether spans are recorded and exported (see `OTEL_TRACES_EXPORTER`). */
  TRACING: boolean;
};

type Env = Readonly<Record<string, string | undefined>>;

/** The loopback names development answers for (Django's default when DEBUG is on). */
const LOCAL_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** The checks production must pass, as messages (empty when everything is fine). */
function productionProblems(parsed: Parsed, hosts: readonly string[]): string[] {
  const problems: string[] = [];
  if (parsed.DEBUG) problems.push('DEBUG must be off in production (DEBUG=false)');
  if (!parsed.SECRET_KEY) problems.push('SECRET_KEY must be set in production');
  else if (parsed.SECRET_KEY.length < 32)
    problems.push(
      `SECRET_KEY must have at least 32 characters (it has ${parsed.SECRET_KEY.length})`,
    );
  for (const name of ['console', 'locmem'] as const) {
    if (parsed.EMAIL_BACKEND.includes(name))
      problems.push(`EMAIL_BACKEND=${name} delivers no email; use smtp in production`);
  }
  if (parsed.TASK_BACKEND === 'immediate')
    problems.push('TASK_BACKEND=immediate runs tasks inside requests; use database in production');
  if (!parsed.SITE_URL)
    problems.push('SITE_URL must be set in production (links in emails are built from it)');
  if (hosts.length === 0) problems.push('ALLOWED_HOSTS (or SITE_URL) must be set in production');
  return problems;
}

/** Build the settings from an environment (the process's, unless given). */
export function loadSettings(env: Env = process.env): Settings {
  // An empty variable means "not set", as in a compose file's `KEY:` or `KEY=`.
  const given = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const result = environment.safeParse(
    Object.fromEntries(Object.entries(given).map(([key, value]) => [key, value?.trim()])),
  );
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    // For a list, name the entry that is wrong rather than the whole variable.
    const index = issue?.path[1];
    const value =
      typeof index === 'number' ? given[key]?.split(',')[index]?.trim() : given[key]?.trim();
    throw new ImproperlyConfigured(
      `${key} ${issue?.message ?? 'is invalid'} (got '${value ?? ''}')`,
    );
  }
  const parsed = result.data;
  const production = parsed.NODE_ENV === 'production';
  const siteHost = parsed.SITE_URL ? new URL(parsed.SITE_URL).hostname : null;
  const hosts =
    parsed.ALLOWED_HOSTS ??
    [...(siteHost ? [siteHost] : []), ...(production ? [] : LOCAL_HOSTS)].filter(
      (host, index, all) => all.indexOf(host) === index,
    );
  if (production) {
    const problems = productionProblems(parsed, hosts);
    if (problems.length > 0)
      throw new ImproperlyConfigured(`Refusing to start in production: ${problems.join('; ')}`);
  }
  const { DATABASE_URL, ...rest } = parsed;
  return {
    ...rest,
    PRODUCTION: production,
    TRACING:
      parsed.OTEL_TRACES_EXPORTER !== undefined &&
      parsed.OTEL_TRACES_EXPORTER !== 'none' &&
      !parsed.OTEL_SDK_DISABLED,
    DATABASE: DATABASE_URL,
    // Development needs no setup: a fixed key that the web server and its workers share.
    SECRET_KEY: parsed.SECRET_KEY ?? 'insecure-development-key-never-use-in-production',
    SITE_URL: parsed.SITE_URL ?? null,
    ALLOWED_HOSTS: hosts,
  };
}

function loadOrExit(): Settings {
  try {
    return loadSettings();
  } catch (error) {
    if (!(error instanceof ImproperlyConfigured)) throw error;
    // One clear line instead of a stack trace: this is a configuration mistake, not a bug.
    console.error(`error: ${error.message}`);
    process.exit(1);
  }
}

/** The settings of this process. */
export const settings: Settings = loadOrExit();

/**
 * `manage.ts createsuperuser --noinput` reads the new account from `SUPERUSER_EMAIL`,
 * `SUPERUSER_NAME` and `SUPERUSER_PASSWORD` (Django's `DJANGO_SUPERUSER_*`), for scripts and
 * containers. Kept out of `settings`: a password has no business in every process's settings.
 */
export function superuserFromEnvironment(env: Env = process.env): {
  email?: string;
  name?: string;
  password?: string;
} {
  const pick = (key: string) => (env[key]?.trim() ? env[key] : undefined);
  return {
    email: pick('SUPERUSER_EMAIL'),
    name: pick('SUPERUSER_NAME'),
    password: pick('SUPERUSER_PASSWORD'),
  };
}

/** This process's environment with `overrides`, for starting the server or a worker as a child process. */
export function environmentWith(
  overrides: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  return { ...process.env, ...overrides };
}
