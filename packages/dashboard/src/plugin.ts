/**
 * The dashboard as a fastify plugin: register it under a prefix with the app's `authorize`
 * hook. Pages are rendered on the server by nunjucks (autoescaping on), need no script and no
 * inline style, and are sent with a strict Content-Security-Policy.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import nunjucks from 'nunjucks';
import { TaskAlreadyFinished, TaskException, TaskResultDoesNotExist } from '@djtasks/tasks';
import {
  cancelResult,
  countsByQueueAndStatus,
  DatabaseBackend,
  deleteResult,
  finishedPerMinute,
  getResultDetail,
  InvalidResultQuery,
  listResults,
  listWorkers,
  retryResult,
  TaskNotRetryable,
  TaskStillRunning,
} from '@djtasks/backend-db';
import { finishedChart } from './chart.ts';
import { csrfToken, csrfValid } from './csrf.ts';

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

const STATUSES = ['READY', 'RUNNING', 'SUCCESSFUL', 'FAILED', 'CANCELLED'] as const;

/** No script at all, styles only from the plugin's own stylesheet. */
const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";

const templates = new URL('../templates/', import.meta.url);
const stylesheet = readFileSync(new URL('../static/dashboard.css', import.meta.url));

function environment(): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(fileURLToPath(templates)), {
    autoescape: true,
  });
  env.addFilter('iso', (date: Date | null) =>
    date ? date.toISOString().replace(/\.\d+Z$/, 'Z') : '—',
  );
  env.addFilter('json', (value: unknown) => JSON.stringify(value, null, 2));
  env.addFilter('age', (date: Date | null) => (date ? age(Date.now() - date.getTime()) : '—'));
  return env;
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** A query string value as a list (`?status=FAILED&status=READY` or `?status=FAILED,READY`). */
function values(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

const one = (value: unknown): string | undefined => {
  const v = values(value)[0];
  return v === undefined ? undefined : v;
};

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
  const { backend, authorize } = options;
  const pageSize = options.pageSize ?? 50;
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

  const render = (request: FastifyRequest, reply: FastifyReply, name: string, context: object) => {
    const html = env.render(name, {
      ...context,
      base,
      csrf: csrfToken(request, reply, base || '/'),
      statuses: STATUSES,
    });
    return reply.type('text/html; charset=utf-8').send(html);
  };

  const fail = (
    request: FastifyRequest,
    reply: FastifyReply,
    code: number,
    title: string,
    message: string,
  ) => render(request, reply.code(code), 'error.njk', { title, message });

  app.get('/static/dashboard.css', (_request, reply) =>
    reply.type('text/css; charset=utf-8').send(stylesheet),
  );

  app.get('/', async (request, reply) => {
    const [counts, workers, series] = await Promise.all([
      countsByQueueAndStatus(backend),
      listWorkers(backend),
      finishedPerMinute(backend, 60),
    ]);
    const queues = new Map<
      string,
      { name: string; counts: Record<string, number>; oldest: Date | null }
    >();
    for (const c of counts) {
      const q = queues.get(c.queue) ?? { name: c.queue, counts: {}, oldest: null };
      q.counts[c.status] = c.count;
      if (c.oldestDueAt) q.oldest = c.oldestDueAt;
      queues.set(c.queue, q);
    }
    return render(request, reply, 'overview.njk', {
      title: 'Tasks',
      queues: [...queues.values()],
      workers,
      chart: finishedChart(series),
    });
  });

  app.get('/tasks', async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const filters = {
      status: values(q['status']).map((s) => s.toUpperCase()),
      queue: values(q['queue']),
      taskName: values(q['task']),
      workerId: one(q['worker']),
      errorText: one(q['error']),
    };
    let page;
    try {
      page = await listResults(backend, {
        ...filters,
        status: filters.status as (typeof STATUSES)[number][],
        limit: pageSize,
        after: one(q['after']),
      });
    } catch (error) {
      if (error instanceof InvalidResultQuery)
        return fail(request, reply, 400, 'Invalid filter', error.message);
      throw error;
    }
    const params = new URLSearchParams();
    for (const s of filters.status) params.append('status', s);
    for (const v of filters.queue) params.append('queue', v);
    for (const v of filters.taskName) params.append('task', v);
    if (filters.workerId) params.set('worker', filters.workerId);
    if (filters.errorText) params.set('error', filters.errorText);
    const here = `${base}/tasks${params.size ? `?${params.toString()}` : ''}`;
    if (page.next) params.set('after', page.next);
    return render(request, reply, 'list.njk', {
      title: 'Task results',
      filters,
      results: page.results,
      here,
      nextUrl: page.next ? `${base}/tasks?${params.toString()}` : null,
    });
  });

  app.get('/tasks/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    try {
      const detail = await getResultDetail(backend, id);
      return render(request, reply, 'task.njk', { title: `Task ${detail.taskName}`, task: detail });
    } catch (error) {
      if (error instanceof TaskResultDoesNotExist)
        return fail(request, reply, 404, 'No such task result', `No task result '${id}'.`);
      throw error;
    }
  });

  const actions = {
    retry: retryResult,
    cancel: cancelResult,
    delete: deleteResult,
  } as const;

  // Bulk retry or cancel of the rows checked in the list: each id is tried, refusals are listed.
  app.post('/tasks/bulk', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (!csrfValid(request, body['_csrf'])) {
      return fail(
        request,
        reply,
        403,
        'Refused',
        'The form is missing its CSRF token or it does not match: reload the page and try again.',
      );
    }
    const action = body['action'];
    if (action !== 'retry' && action !== 'cancel')
      return fail(request, reply, 400, 'Unknown action', 'Choose Retry or Cancel.');
    const ids = [...new Set(values(body['id']))];
    if (ids.length === 0)
      return fail(request, reply, 400, 'Nothing selected', 'Select at least one task first.');
    if (ids.length > 1000)
      return fail(request, reply, 400, 'Too many', 'Select at most 1000 tasks at once.');
    const done: string[] = [];
    const refused: { id: string; message: string }[] = [];
    for (const id of ids) {
      try {
        await actions[action](backend, id);
        done.push(id);
      } catch (error) {
        if (!(error instanceof TaskException)) throw error;
        refused.push({ id, message: error.message });
      }
    }
    const next = typeof body['next'] === 'string' ? body['next'] : '';
    return render(request, reply, 'bulk.njk', {
      title: action === 'retry' ? 'Retried' : 'Cancelled',
      action,
      done,
      refused,
      back: next.startsWith(`${base}/`) && !next.startsWith('//') ? next : `${base}/tasks`,
    });
  });

  app.post('/tasks/:id/:action', async (request, reply) => {
    const { id, action } = request.params as { id: string; action: string };
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (!csrfValid(request, body['_csrf'])) {
      return fail(
        request,
        reply,
        403,
        'Refused',
        'The form is missing its CSRF token or it does not match: reload the page and try again.',
      );
    }
    const run = actions[action as keyof typeof actions];
    if (!run) return reply.callNotFound();
    try {
      await run(backend, id);
    } catch (error) {
      if (error instanceof TaskResultDoesNotExist)
        return fail(request, reply, 404, 'No such task result', `No task result '${id}'.`);
      if (
        error instanceof TaskNotRetryable ||
        error instanceof TaskStillRunning ||
        error instanceof TaskAlreadyFinished
      )
        return fail(request, reply, 409, `Cannot ${action}`, error.message);
      throw error;
    }
    // Back where the form was, if that is a dashboard page (never an outside URL).
    const next = typeof body['next'] === 'string' ? body['next'] : '';
    const safe = next.startsWith(`${base}/`) && !next.startsWith('//') ? next : null;
    const fallback =
      action === 'delete' ? `${base}/tasks` : `${base}/tasks/${encodeURIComponent(id)}`;
    return reply.redirect(safe ?? fallback, 303);
  });
}
