/**
 * Django's security middleware, for fastify: the Content-Security-Policy (Django 6's
 * `ContentSecurityPolicyMiddleware`), the usual security headers, cookies, and CSRF
 * protection of unsafe methods (`CsrfViewMiddleware`: a token in a cookie that the form
 * field or the `X-CSRFToken` header must repeat, plus an Origin check).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Only this origin's scripts, styles, images and form targets; no framing, no plugins. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers sent with every response. */
export function securityHeaders(secure: boolean): Record<string, string> {
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
    ...(secure ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
  };
}

/** Parse a `Cookie` header. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || name in cookies) continue;
    try {
      cookies[name] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // Ignore cookies that are not valid percent-encoding.
    }
  }
  return cookies;
}

/** Build a `Set-Cookie` value: HttpOnly and SameSite=Lax always, Secure behind HTTPS. */
export function serializeCookie(
  name: string,
  value: string,
  options: { maxAge: number; secure: boolean },
): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    'Path=/',
    `Max-Age=${options.maxAge}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

export const CSRF_COOKIE = 'csrftoken';
export const CSRF_FIELD = 'csrfmiddlewaretoken';
export const CSRF_HEADER = 'x-csrftoken';
const CSRF_COOKIE_AGE = 365 * 24 * 3600;

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** A new random CSRF token. */
export function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The request's CSRF token from its cookie, or `null` when it has none (or a malformed one). */
export function csrfCookie(cookies: Record<string, string>): string | null {
  const token = cookies[CSRF_COOKIE];
  return token && TOKEN.test(token) ? token : null;
}

/** Send `token` as the CSRF cookie. */
export function setCsrfCookie(reply: FastifyReply, token: string, secure: boolean): void {
  reply.header(
    'set-cookie',
    serializeCookie(CSRF_COOKIE, token, { maxAge: CSRF_COOKIE_AGE, secure }),
  );
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * Why the request must be refused, or `null` when it may go on. Safe methods always pass;
 * others need a same-origin `Origin` (when sent) and the cookie's token repeated.
 */
export function csrfFailure(request: FastifyRequest, cookieToken: string | null): string | null {
  if (SAFE_METHODS.has(request.method)) return null;
  const origin = request.headers.origin;
  if (origin !== undefined) {
    const expected = `${request.protocol}://${request.host}`;
    if (origin !== expected) {
      return `Origin checking failed - ${origin} does not match any trusted origins.`;
    }
  }
  if (!cookieToken) return 'CSRF cookie not set.';
  const header = request.headers[CSRF_HEADER];
  const body = request.body;
  const field =
    typeof body === 'object' && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>)[CSRF_FIELD]
      : undefined;
  const submitted = typeof header === 'string' ? header : typeof field === 'string' ? field : null;
  if (!submitted) return 'CSRF token missing.';
  const a = Buffer.from(submitted);
  const b = Buffer.from(cookieToken);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return 'CSRF token incorrect.';
  return null;
}
