/**
 * The staff pages: the task dashboard (`@djtasks/dashboard`) at `/admin/tasks/` and the
 * Prometheus text at `/metrics`. Both answer the app's ordinary 404 to anyone else, so their
 * existence is not revealed (Django's admin does the same for non-staff).
 */
import type { DatabaseBackend } from '@djtasks/backend-db';
import { djtasksDashboard } from '@djtasks/dashboard';
import { registerMetricsRoute } from '@djtasks/opentelemetry/prometheus';
import { taskBackends } from '@djtasks/tasks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { render } from '../http.ts';
import { settings } from '../settings.ts';
import type { Telemetry } from '../telemetry.ts';

/** Where the task dashboard is mounted. */
export const TASK_DASHBOARD_PREFIX = '/admin/tasks';

/** Whether the request comes from a logged-in staff user (Django's `is_staff`). */
export function isStaff(request: FastifyRequest): boolean {
  return request.user?.isStaff === true;
}

/**
 * Whether the request was made on this machine and not forwarded by a proxy: a loopback
 * socket address and no `X-Forwarded-For`. A reverse proxy on the same host connects from
 * loopback too, but it adds that header, so what reaches the site through it is not local.
 * (The header cannot be forged to *gain* access: sending it only ever refuses.)
 */
export function isLocalRequest(request: FastifyRequest): boolean {
  const ip = request.socket.remoteAddress ?? '';
  const loopback = ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
  return loopback && request.headers['x-forwarded-for'] === undefined;
}

export async function adminViews(app: FastifyInstance, telemetry: Telemetry): Promise<void> {
  if (settings.TASK_BACKEND === 'database') {
    await app.register(djtasksDashboard, {
      prefix: TASK_DASHBOARD_PREFIX,
      backend: taskBackends.get('default') as DatabaseBackend,
      authorize: isStaff,
      // The dashboard's own header, with a way back to the app's pages.
      siteLink: { href: '/reports', label: 'Back to the demo' },
    });
  } else {
    // The dashboard reads the database backend's task table; the immediate and thread pool
    // backends keep results in memory, in one process. Staff are told so; others get 404.
    const unavailable = (request: FastifyRequest, reply: FastifyReply) => {
      if (!isStaff(request)) return reply.callNotFound();
      return render(
        reply,
        'error.njk',
        {
          title: 'Task dashboard unavailable',
          status: 404,
          message: `The task dashboard shows the tasks of the database backend; this server runs TASK_BACKEND=${settings.TASK_BACKEND}, whose results live in memory. Run it with TASK_BACKEND=database (./dev demo does by default) to see and act on every task here.`,
        },
        404,
      );
    };
    app.all(TASK_DASHBOARD_PREFIX, unavailable);
    app.all(`${TASK_DASHBOARD_PREFIX}/*`, unavailable);
  }

  if (telemetry.prometheus) {
    const exporter = telemetry.prometheus;
    await app.register((scope, _options, done) => {
      // Refused requests get the app's own 404 (the route's default is a JSON body of its own).
      scope.addHook('onRequest', async (request, reply) => {
        if (!isStaff(request) && !isLocalRequest(request)) return reply.callNotFound();
        return undefined;
      });
      registerMetricsRoute(scope, { exporter, url: '/metrics', allow: () => true });
      done();
    });
  }
}
