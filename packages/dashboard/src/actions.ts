/** The dashboard's actions: retry, cancel or delete one task, and bulk retry or cancel; all POST forms behind CSRF checks. */
import type { FastifyInstance } from 'fastify';
import { TaskAlreadyFinished, TaskException, TaskResultDoesNotExist } from '@djtasks/tasks';
import {
  cancelResult,
  deleteResult,
  retryResult,
  TaskNotRetryable,
  TaskStillRunning,
} from '@djtasks/backend-db';
import { csrfValid } from './csrf.ts';
import { values } from './environment.ts';
import type { DashboardContext } from './plugin.ts';

const CSRF_REFUSED =
  'The form is missing its CSRF token or it does not match: reload the page and try again.';

/** Register the POST routes of the dashboard. */
export function registerActions(app: FastifyInstance, context: DashboardContext): void {
  const { backend, base, render, fail } = context;
  /** Where to go after an action: the form's page if it is a dashboard page, never an outside URL. */
  const safeNext = (next: unknown): string | null =>
    typeof next === 'string' && next.startsWith(`${base}/`) && !next.startsWith('//') ? next : null;

  const actions = {
    retry: retryResult,
    cancel: cancelResult,
    delete: deleteResult,
  } as const;

  // Bulk retry or cancel of the rows checked in the list: each id is tried, refusals are listed.
  app.post('/tasks/bulk', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (!csrfValid(request, body['_csrf'])) {
      return fail(request, reply, 403, 'Refused', CSRF_REFUSED);
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
    return render(request, reply, 'bulk.njk', {
      title: action === 'retry' ? 'Retried' : 'Cancelled',
      action,
      done,
      refused,
      back: safeNext(body['next']) ?? `${base}/tasks`,
    });
  });

  app.post('/tasks/:id/:action', async (request, reply) => {
    const { id, action } = request.params as { id: string; action: string };
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (!csrfValid(request, body['_csrf'])) {
      return fail(request, reply, 403, 'Refused', CSRF_REFUSED);
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
    const safe = safeNext(body['next']);
    const fallback =
      action === 'delete' ? `${base}/tasks` : `${base}/tasks/${encodeURIComponent(id)}`;
    return reply.redirect(safe ?? fallback, 303);
  });
}
