/**
 * The web application: fastify with the middleware Django would give (allowed hosts,
 * security headers and CSP, signed session cookies, CSRF, rate limits, a unit of work per
 * request, `no-store` for logged-in pages) and the views of `views/`.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import view from '@fastify/view';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { MikroORM } from '@mikro-orm/sql';
import nunjucks from 'nunjucks';
import { userForSession } from './auth.ts';
import { createHttpServer } from './http-server.ts';
import { sendError } from './http.ts';
import {
  csrfCookie,
  csrfFailure,
  helmetOptions,
  hostAllowed,
  newCsrfToken,
  setCsrfCookie,
  trustedOrigins,
} from './security.ts';
import { settings } from './settings.ts';
import { NO_TELEMETRY, type Telemetry } from './telemetry.ts';
import { TEMPLATES_DIR } from './templates.ts';
import { accountViews, SESSION_COOKIE } from './views/accounts.ts';
import { adminViews, TASK_DASHBOARD_PREFIX } from './views/admin.ts';
import { reportViews } from './views/reports.ts';
import { staticViews } from './views/static.ts';

export interface AppOptions {
  logger?: boolean;
  /** Where the server is reached when `SITE_URL` is unset (known once it listens). */
  siteUrl?: () => string;
  /** What `startTelemetry('web')` set up: the request spans' plugin, the `/metrics` exporter. */
  telemetry?: Telemetry;
}

/** Build the app on an open ORM; the caller listens and closes. */
export async function buildApp(orm: MikroORM, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: settings.MAX_BODY_BYTES,
    trustProxy: settings.TRUST_PROXY,
    // Slow clients: see createHttpServer.
    serverFactory: (handler) =>
      createHttpServer(handler, {
        requestTimeoutMs: settings.REQUEST_TIMEOUT_SECONDS * 1000,
        idleTimeoutMs: settings.CONNECTION_IDLE_TIMEOUT_SECONDS * 1000,
      }),
  });
  const telemetry = options.telemetry ?? NO_TELEMETRY;
  // First, so that every later hook and route runs inside the request's span.
  if (telemetry.fastifyPlugin) await app.register(telemetry.fastifyPlugin);
  const site = settings.SITE_URL;
  app.decorate('siteUrl', () => site ?? options.siteUrl?.() ?? `http://${settings.HOST}`);

  await app.register(cookie, { secret: settings.SECRET_KEY });
  await app.register(formbody);
  await app.register(helmet, helmetOptions(settings));
  await app.register(rateLimit, { global: false });
  await app.register(view, {
    engine: { nunjucks },
    root: TEMPLATES_DIR,
    options: { autoescape: true, throwOnUndefined: false },
  });

  app.decorateRequest('em', null as never);
  app.decorateRequest('user', null);
  app.decorateRequest('sessionKey', null);
  app.decorateRequest('csrfToken', '');
  app.decorateRequest('csrfCookieToken', null);

  app.addHook('onRequest', async (request, reply) => {
    // Django's ALLOWED_HOSTS: a request for another name is refused before anything runs.
    // The health check answers any name, so a container probe on 127.0.0.1 works.
    // `request.host` is X-Forwarded-Host behind a trusted proxy, the Host header otherwise.
    if (request.url !== '/health' && !hostAllowed(request.host, settings.ALLOWED_HOSTS)) {
      const host = (request.host ?? '').slice(0, 100);
      return sendError(
        reply,
        400,
        `Invalid HTTP_HOST header: '${host}'. You may need to add '${host.replace(/:\d+$/, '')}' to ALLOWED_HOSTS.`,
      );
    }
    request.em = orm.em.fork();
    const signed = request.cookies[SESSION_COOKIE];
    const unsigned = signed ? request.unsignCookie(signed) : null;
    if (unsigned?.valid && unsigned.value) {
      request.user = await userForSession(request.em, unsigned.value);
      request.sessionKey = request.user ? unsigned.value : null;
    }
    const token = csrfCookie(request.cookies);
    if (token) {
      request.csrfToken = token;
    } else {
      request.csrfToken = newCsrfToken();
      if (request.method === 'GET')
        setCsrfCookie(reply, request.csrfToken, settings.SECURE_COOKIES);
    }
    // Token checks need the parsed body, so they run in preValidation.
    request.csrfCookieToken = token;
    return undefined;
  });

  app.addHook('preValidation', async (request, reply) => {
    // The task dashboard's forms carry the dashboard's own token (a SameSite=Strict cookie
    // scoped to its prefix, checked by the plugin on every action), not this one: there only
    // the Origin is checked here. See the README's "Task dashboard".
    // The route matched, not the raw URL: no spelling of a URL escapes the check elsewhere.
    const route = request.routeOptions.url ?? '';
    const dashboard =
      route === TASK_DASHBOARD_PREFIX || route.startsWith(`${TASK_DASHBOARD_PREFIX}/`);
    const failure = csrfFailure(
      request,
      request.csrfCookieToken,
      trustedOrigins(request, settings),
      { originOnly: dashboard },
    );
    if (failure) {
      await sendError(reply, 403, `CSRF verification failed. Request aborted. ${failure}`);
    }
  });

  // Pages for a logged-in user must not be kept by the browser or a proxy (back button
  // after logout, shared computers).
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.user) {
      reply.header('cache-control', 'no-store');
      reply.header('vary', 'Cookie');
    }
    return payload;
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error(error);
    const message =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? `Request body is too large (the limit is ${settings.MAX_BODY_BYTES} bytes).`
        : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? `Unsupported content type '${request.headers['content-type'] ?? ''}': send application/json or a form.`
          : error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? 'The JSON body is empty.'
            : status < 500
              ? error.message
              : settings.DEBUG
                ? `Server error: ${error.message}`
                : 'Server error.';
    return sendError(reply, status, message);
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, `Not found: ${request.method} ${request.url.slice(0, 100)}`),
  );

  accountViews(app);
  reportViews(app);
  staticViews(app);
  await adminViews(app, telemetry);
  return app;
}
