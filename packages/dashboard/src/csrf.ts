/**
 * CSRF protection for the dashboard's forms: a double-submit token. A random token lives in an
 * HttpOnly, SameSite=Strict cookie scoped to the dashboard's prefix, and every form posts it
 * back; a POST whose field does not match the cookie is refused. Hand-written (a few lines)
 * rather than @fastify/csrf-protection so the plugin does not have to register @fastify/cookie
 * or a session plugin, which the app may already register with its own settings.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The name of the cookie (and of the form field, `_csrf`). */
export const CSRF_COOKIE = 'djtasks_csrf';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The request's token, setting a new cookie when it has none (or a malformed one). */
export function csrfToken(request: FastifyRequest, reply: FastifyReply, path: string): string {
  const current = readCookie(request, CSRF_COOKIE);
  if (current && TOKEN.test(current)) return current;
  const token = randomBytes(32).toString('base64url');
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header(
    'set-cookie',
    `${CSRF_COOKIE}=${token}; Path=${path}; HttpOnly; SameSite=Strict${secure}`,
  );
  return token;
}

/** Whether a POST carries the token of its cookie. */
export function csrfValid(request: FastifyRequest, submitted: unknown): boolean {
  const cookie = readCookie(request, CSRF_COOKIE);
  if (!cookie || !TOKEN.test(cookie) || typeof submitted !== 'string') return false;
  const a = Buffer.from(cookie);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}
