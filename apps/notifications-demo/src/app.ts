/**
 * The web application: fastify with the middleware Django would give (security headers and
 * CSP, sessions, CSRF, a unit of work per request) and the views of `views/`.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { MikroORM } from '@mikro-orm/sql';
import { userForSession } from './auth.ts';
import { sendError } from './http.ts';
import {
  csrfCookie,
  csrfFailure,
  newCsrfToken,
  parseCookies,
  securityHeaders,
  setCsrfCookie,
} from './security.ts';
import { settings } from './settings.ts';
import { accountViews, SESSION_COOKIE } from './views/accounts.ts';
import { reportViews } from './views/reports.ts';
import { staticViews } from './views/static.ts';

/** Build the app on an open ORM; the caller listens and closes. */
export function buildApp(orm: MikroORM, options: { logger?: boolean } = {}): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: settings.MAX_BODY_BYTES,
    trustProxy: false,
  });
  const headers = securityHeaders(settings.SECURE_COOKIES);

  // HTML forms post application/x-www-form-urlencoded; the body limit applies to it too.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      const fields: Record<string, string> = {};
      for (const [key, value] of new URLSearchParams(body as string)) fields[key] = value;
      done(null, fields);
    },
  );

  app.decorateRequest('em', null as never);
  app.decorateRequest('user', null);
  app.decorateRequest('sessionKey', null);
  app.decorateRequest('csrfToken', '');
  app.decorateRequest('csrfCookieToken', null);

  app.addHook('onRequest', async (request, reply) => {
    reply.headers(headers);
    request.em = orm.em.fork();
    const cookies = parseCookies(request.headers.cookie);
    const key = cookies[SESSION_COOKIE];
    if (key) {
      request.user = await userForSession(request.em, key);
      request.sessionKey = request.user ? key : null;
    }
    const token = csrfCookie(cookies);
    if (token) {
      request.csrfToken = token;
    } else {
      request.csrfToken = newCsrfToken();
      if (request.method === 'GET')
        setCsrfCookie(reply, request.csrfToken, settings.SECURE_COOKIES);
    }
    // Token checks need the parsed body, so they run in preValidation.
    request.csrfCookieToken = token;
  });

  app.addHook('preValidation', async (request, reply) => {
    const failure = csrfFailure(request, request.csrfCookieToken);
    if (failure) {
      await sendError(reply, 403, `CSRF verification failed. Request aborted. ${failure}`);
    }
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
  return app;
}
