/** What views share: the request's user, EntityManager and CSRF token, and small helpers. */
import type { EntityManager } from '@mikro-orm/sql';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { User } from './models/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's unit of work. */
    em: EntityManager;
    /** The logged-in user, or `null`. */
    user: User | null;
    /** The session key from the signed cookie, when it names a live session. */
    sessionKey: string | null;
    /** The CSRF token to put in forms (Django's `{% csrf_token %}`). */
    csrfToken: string;
    /** The token the request's cookie carried, which a POST must repeat; `null` without one. */
    csrfCookieToken: string | null;
  }
  interface FastifyInstance {
    /** The site's address for absolute links: `SITE_URL`, or where the server listens. */
    siteUrl(): string;
  }
}

/** Whether the client is a browser that wants a page rather than JSON. */
export function wantsHtml(request: FastifyRequest): boolean {
  // What the client says it accepts wins; otherwise a form post comes from a page.
  const accept = request.headers.accept ?? '';
  if (accept.includes('text/html')) return true;
  if (accept.includes('application/json')) return false;
  return (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

/** The site's address for links in emails: never the request's Host header. */
export function siteUrl(request: FastifyRequest): string {
  return request.server.siteUrl();
}

/** Render a template of `src/templates` with the request's user and CSRF token. */
export function render(
  reply: FastifyReply,
  template: string,
  context: Record<string, unknown>,
  status = 200,
): FastifyReply {
  const request = reply.request;
  const user = request.user
    ? { name: request.user.name, email: request.user.email, isStaff: request.user.isStaff }
    : null;
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .view(template, { csrfToken: request.csrfToken, user, ...context });
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Log in first',
  403: 'Forbidden',
  404: 'Page not found',
  405: 'Method not allowed',
  408: 'Request timeout',
  413: 'Request too large',
  415: 'Unsupported content type',
  429: 'Too many requests',
  500: 'Server error',
};

/**
 * Send an error: an HTML page to browsers, `{ "error": message, ...extra }` to API clients
 * (content negotiation on Accept and the request's content type).
 */
export function sendError(
  reply: FastifyReply,
  status: number,
  message: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  if (wantsHtml(reply.request)) {
    const title = TITLES[status] ?? (status >= 500 ? 'Server error' : 'Error');
    return render(reply, 'error.njk', { title, status, message }, status);
  }
  return reply.code(status).send({ error: message, ...extra });
}
