/** What views share: the request's user, EntityManager and CSRF token, and small helpers. */
import type { EntityManager } from '@mikro-orm/sql';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { User } from './models/index.ts';
import { settings } from './settings.ts';
import type { SafeHtml } from './templates/html.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's unit of work. */
    em: EntityManager;
    /** The logged-in user, or `null`. */
    user: User | null;
    /** The session key from the cookie, when it names a live session. */
    sessionKey: string | null;
    /** The CSRF token to put in forms (Django's `{% csrf_token %}`). */
    csrfToken: string;
    /** The token the request's cookie carried, which a POST must repeat; `null` without one. */
    csrfCookieToken: string | null;
  }
}

/** Whether the client is a browser that wants a page rather than JSON. */
export function wantsHtml(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? '';
  if (type.startsWith('application/x-www-form-urlencoded')) return true;
  if (type.startsWith('application/json')) return false;
  return (request.headers.accept ?? '').includes('text/html');
}

/** The site's address for links in emails: `SITE_URL`, or where this request came in. */
export function siteUrl(request: FastifyRequest): string {
  return settings.SITE_URL ?? `${request.protocol}://${request.host}`;
}

/** Send an HTML page. */
export function sendPage(reply: FastifyReply, page: SafeHtml, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page.value);
}

/** Send a JSON error `{ "error": message, ...extra }`. */
export function sendError(
  reply: FastifyReply,
  status: number,
  message: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply.code(status).send({ error: message, ...extra });
}
