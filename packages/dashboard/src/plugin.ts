/**
 * The dashboard as a fastify plugin: register it under a prefix with the app's `authorize`
 * hook. Pages are rendered on the server by nunjucks (autoescaping on), work without script,
 * use no inline script or style, and are sent with a strict Content-Security-Policy; one small
 * script file served by the plugin refreshes the task list in place.
 */
import { readFileSync } from 'node:fs';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TaskException } from '@djtasks/tasks';
import { DatabaseBackend } from '@djtasks/backend-db';
import { registerActions } from './actions.ts';
import { csrfToken } from './csrf.ts';
import { environment } from './environment.ts';
import { registerPages } from './pages.ts';

/** Options of {@link djtasksDashboard}. */
export interface DashboardOptions {
  /** The backend whose tasks the dashboard shows. */
  backend: DatabaseBackend;
  /**
   * Whether the request may see the dashboard (e.g. a logged-in staff user). Required: there
   * is no open default. A request it refuses gets the app's 404, for every dashboard URL.
   */
  authorize: (request: FastifyRequest) => boolean | Promise<boolean>;
  /** Results per page of the task list. @defaultValue 50 */
  pageSize?: number;
  /** How often the task list refreshes itself in the browser, in milliseconds (0: never). @defaultValue 3000 */
  liveIntervalMs?: number;
  /**
   * How long the overview keeps the last day's figures, in milliseconds (0: read at every
   * view). A day can hold 100,000s of results, about a second to read on a big table.
   * @defaultValue 60000
   */
  statsCacheMs?: number;
  /** A link back to the app, shown at the right of the dashboard's header, e.g. `{ href: '/', label: 'Back to the app' }`. */
  siteLink?: { href: string; label: string };
}

/** The dashboard was registered without what it needs (an `authorize` hook, a backend). */
export class DashboardConfigurationError extends TaskException {
  override name = 'DashboardConfigurationError';
  /** The option at fault. */
  readonly option: string;

  constructor(option: string, message: string) {
    super(message);
    this.option = option;
  }
}

/** What the page and action routes share. */
export interface DashboardContext {
  backend: DatabaseBackend;
  /** The plugin's prefix ('' at the root). */
  base: string;
  pageSize: number;
  liveIntervalMs: number;
  statsCacheMs: number;
  /** Render a template (with `base`, the CSRF token and the statuses) as the reply. */
  render: (
    request: FastifyRequest,
    reply: FastifyReply,
    name: string,
    context: object,
  ) => FastifyReply;
  /** Render the error page with a status code. */
  fail: (
    request: FastifyRequest,
    reply: FastifyReply,
    code: number,
    title: string,
    message: string,
  ) => FastifyReply;
}

export const STATUSES = ['READY', 'RUNNING', 'SUCCESSFUL', 'FAILED', 'CANCELLED'] as const;

/**
 * Scripts and styles only from the plugin's own files (the list's refresh script fetches from
 * the same origin); no inline script or style anywhere.
 */
const CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const stylesheet = readFileSync(new URL('../static/dashboard.css', import.meta.url));
const script = readFileSync(new URL('../static/live.js', import.meta.url));

/**
 * The djtasks dashboard. Register it with a prefix:
 * `app.register(djtasksDashboard, { prefix: '/admin/tasks', backend, authorize })`.
 */
export async function djtasksDashboard(
  app: FastifyInstance,
  options: DashboardOptions,
): Promise<void> {
  if (typeof options?.authorize !== 'function') {
    throw new DashboardConfigurationError(
      'authorize',
      '@djtasks/dashboard needs an authorize(request) option (e.g. request => request.user?.isStaff === true); it has no open default.',
    );
  }
  if (!(options.backend instanceof DatabaseBackend)) {
    throw new DashboardConfigurationError(
      'backend',
      '@djtasks/dashboard needs the DatabaseBackend whose tasks it shows as its backend option.',
    );
  }
  const liveIntervalMs = options.liveIntervalMs ?? 3000;
  if (!Number.isInteger(liveIntervalMs) || liveIntervalMs < 0) {
    throw new DashboardConfigurationError(
      'liveIntervalMs',
      `@djtasks/dashboard: liveIntervalMs must be a whole number of milliseconds, 0 or more (got ${String(liveIntervalMs)}).`,
    );
  }
  const statsCacheMs = options.statsCacheMs ?? 60_000;
  if (!Number.isInteger(statsCacheMs) || statsCacheMs < 0) {
    throw new DashboardConfigurationError(
      'statsCacheMs',
      `@djtasks/dashboard: statsCacheMs must be a whole number of milliseconds, 0 or more (got ${String(statsCacheMs)}).`,
    );
  }
  const siteLink = options.siteLink;
  if (
    siteLink !== undefined &&
    (typeof siteLink?.href !== 'string' ||
      typeof siteLink.label !== 'string' ||
      !/^(\/(?!\/)|https?:\/\/)/.test(siteLink.href))
  ) {
    throw new DashboardConfigurationError(
      'siteLink',
      `@djtasks/dashboard: siteLink must be { href, label } with href a path ('/...') or an http(s) URL (got ${JSON.stringify(siteLink)}).`,
    );
  }
  const { backend, authorize } = options;
  const base = app.prefix;
  const env = environment();

  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
    await app.register(formbody);
  }

  app.addHook('onRequest', async (request, reply) => {
    if (!(await authorize(request))) return reply.callNotFound();
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'same-origin');
    reply.header('cache-control', 'no-store');
  });

  const context: DashboardContext = {
    backend,
    base,
    pageSize: options.pageSize ?? 50,
    liveIntervalMs,
    statsCacheMs,
    render: (request, reply, name, values) => {
      const html = env.render(name, {
        ...values,
        base,
        csrf: csrfToken(request, reply, base || '/'),
        statuses: STATUSES,
        liveIntervalMs,
        siteLink,
      });
      return reply.type('text/html; charset=utf-8').send(html);
    },
    fail: (request, reply, code, title, message) =>
      context.render(request, reply.code(code), 'error.njk', { title, message }),
  };

  app.get('/static/dashboard.css', (_request, reply) =>
    reply.type('text/css; charset=utf-8').send(stylesheet),
  );
  app.get('/static/live.js', (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(script),
  );

  registerPages(app, context);
  registerActions(app, context);
}
