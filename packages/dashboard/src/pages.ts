/** The dashboard's pages: overview, task list and task page (and their content alone, for live updates), schedules. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TaskResultDoesNotExist, type TaskResultStatus } from '@djtasks/tasks';
import {
  countsByQueueAndStatus,
  getResultDetail,
  InvalidResultQuery,
  listResults,
  listScheduleResults,
  listWorkers,
  scheduleReport,
  taskThroughput,
  taskTimings,
  type ResultPage,
  type Throughput,
  type Timings,
} from '@djtasks/backend-db';
import { failureChart, throughputChart } from './chart.ts';
import { single, values } from './environment.ts';
import type { DashboardContext } from './plugin.ts';

/** The windows the overview shows: the last hour per minute, the last day per half hour. */
const WINDOWS = [
  { key: 'hour', title: 'Last hour', minutes: 60, bucketMinutes: 1, per: 'minute', cached: false },
  // A day of results can be 100,000s of rows (about a second to read on a big table): its
  // figures are kept for the plugin's statsCacheMs.
  {
    key: 'day',
    title: 'Last day',
    minutes: 1440,
    bucketMinutes: 30,
    per: '30 minutes',
    cached: true,
  },
] as const;

/** The list's filters, as read from the query string. */
interface ListFilters {
  status: string[];
  queue: string[];
  taskName: string[];
  workerId: string | undefined;
  errorText: string | undefined;
  /** The `key` parameter: a unique key, or a prefix of one when it ends with `*`. */
  key: string | undefined;
}

function filtersOf(q: Record<string, unknown>): ListFilters {
  return {
    status: values(q['status']).map((s) => s.toUpperCase()),
    queue: values(q['queue']),
    taskName: values(q['task']),
    workerId: single(q['worker']),
    errorText: single(q['error']),
    key: single(q['key']),
  };
}

/** The list page's URL for these filters (what the row actions come back to). */
function listUrl(base: string, filters: ListFilters, after?: string): string {
  const params = new URLSearchParams();
  for (const s of filters.status) params.append('status', s);
  for (const v of filters.queue) params.append('queue', v);
  for (const v of filters.taskName) params.append('task', v);
  if (filters.workerId) params.set('worker', filters.workerId);
  if (filters.errorText) params.set('error', filters.errorText);
  if (filters.key) params.set('key', filters.key);
  if (after) params.set('after', after);
  return `${base}/tasks${params.size ? `?${params.toString()}` : ''}`;
}

/** Register the GET pages of the dashboard. */
export function registerPages(app: FastifyInstance, context: DashboardContext): void {
  const { backend, base, pageSize, render, fail } = context;

  type Stats = { throughput: Throughput; timings: Timings; computedAt: Date };
  const cache = new Map<string, { expires: number; value: Promise<Stats> }>();
  /** The throughput and timings of a window; a cached window's at most once per statsCacheMs. */
  function statsOf(w: (typeof WINDOWS)[number]): Promise<Stats> {
    const hit = cache.get(w.key);
    if (hit && hit.expires > Date.now()) return hit.value;
    const value = (async (): Promise<Stats> => ({
      computedAt: new Date(),
      throughput: await taskThroughput(backend, {
        minutes: w.minutes,
        bucketMinutes: w.bucketMinutes,
      }),
      // The same window as the charts'.
      timings: await taskTimings(backend, { minutes: w.minutes, bucketMinutes: w.bucketMinutes }),
    }))();
    if (w.cached && context.statsCacheMs > 0) {
      cache.set(w.key, { expires: Date.now() + context.statsCacheMs, value });
      value.catch(() => cache.delete(w.key));
    }
    return value;
  }

  app.get('/', async (request, reply) => {
    const [counts, workers] = await Promise.all([
      countsByQueueAndStatus(backend),
      listWorkers(backend),
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
    const windows = [];
    for (const w of WINDOWS) {
      const { throughput, timings, computedAt } = await statsOf(w);
      windows.push({
        ...w,
        computedAt: w.cached && context.statsCacheMs > 0 ? computedAt : null,
        throughput: throughputChart(throughput),
        failures: failureChart(throughput),
        timings: timings.queues,
      });
    }
    return render(request, reply, 'overview.njk', {
      title: 'Tasks',
      queues: [...queues.values()],
      workers,
      windows,
    });
  });

  /** One page of the list for the request's filters, or the error page for a bad filter. */
  async function listOf(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<{ filters: ListFilters; page: ResultPage; after?: string } | FastifyReply> {
    const q = request.query as Record<string, unknown>;
    const filters = filtersOf(q);
    const after = single(q['after']);
    const key = filters.key;
    try {
      const page = await listResults(backend, {
        status: filters.status as TaskResultStatus[],
        queue: filters.queue,
        taskName: filters.taskName,
        workerId: filters.workerId,
        errorText: filters.errorText,
        ...(key?.endsWith('*')
          ? { uniqueKeyPrefix: key.slice(0, -1) || undefined }
          : { uniqueKey: key }),
        limit: pageSize,
        after,
      });
      return after === undefined ? { filters, page } : { filters, page, after };
    } catch (error) {
      if (error instanceof InvalidResultQuery)
        return fail(request, reply, 400, 'Invalid filter', error.message);
      throw error;
    }
  }

  app.get('/tasks', async (request, reply) => {
    const list = await listOf(request, reply);
    if (!('page' in list)) return list;
    const { filters, page, after } = list;
    const here = listUrl(base, filters, after);
    const query = here.slice(`${base}/tasks`.length);
    return render(request, reply, 'list.njk', {
      title: 'Task results',
      filters,
      results: page.results,
      here,
      liveUrl: `${base}/tasks/rows${query}`,
      nextUrl: page.next ? listUrl(base, filters, page.next) : null,
    });
  });

  // The list's rows alone (a <tbody>'s content), which static/live.js fetches to refresh the
  // list in place; the same filters and cursor as the page.
  app.get('/tasks/rows', async (request, reply) => {
    const list = await listOf(request, reply);
    if (!('page' in list)) return list;
    const { filters, page, after } = list;
    return render(request, reply, 'rows.njk', {
      results: page.results,
      here: listUrl(base, filters, after),
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

  // The task page's content alone, which static/live.js fetches to refresh the page in place.
  app.get('/tasks/:id/body', async (request, reply) => {
    const { id } = request.params as { id: string };
    try {
      const detail = await getResultDetail(backend, id);
      return render(request, reply, 'task-body.njk', { task: detail });
    } catch (error) {
      if (error instanceof TaskResultDoesNotExist)
        return fail(request, reply, 404, 'No such task result', `No task result '${id}'.`);
      throw error;
    }
  });

  app.get('/schedules', async (request, reply) => {
    const schedules = [];
    for (const schedule of await scheduleReport(backend)) {
      // A tick's task carries the unique key `schedule:<name>:<tick>`.
      const prefix = `schedule:${schedule.name}:`;
      schedules.push({
        ...schedule,
        recent: await listScheduleResults(backend, schedule, 5),
        allUrl: `${base}/tasks?${new URLSearchParams({ task: schedule.task, key: `${prefix}*` }).toString()}`,
      });
    }
    return render(request, reply, 'schedules.njk', { title: 'Schedules', schedules });
  });
}
