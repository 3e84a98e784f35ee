/**
 * Django's security middleware, for fastify: the host check (`ALLOWED_HOSTS`), the
 * Content-Security-Policy and security headers (through @fastify/helmet), and CSRF
 * protection of unsafe methods (`CsrfViewMiddleware`: a token in a cookie that the form
 * field or the `X-CSRFToken` header must repeat, plus an Origin check).
 *
 * The CSRF check stays hand-written: @fastify/csrf-protection keeps its secret in a session
 * or signed cookie and needs the token in every form anyway; Django's double-submit shape
 * is ten lines here, works for the JSON API and the forms alike, and keeps Django's messages.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyHelmetOptions } from '@fastify/helmet';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Settings } from './settings.ts';

/** Only this origin's scripts, styles, images and form targets; no framing, no plugins. */
export function helmetOptions(config: Settings): FastifyHelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    // HSTS only where the site is served over HTTPS.
    strictTransportSecurity: config.SECURE_COOKIES
      ? { maxAge: 31_536_000, includeSubDomains: true }
      : false,
  };
}

/**
 * Whether `host` (a Host header, maybe with a port) is one of `allowed`: an exact name, a
 * `.example.com` entry for the domain and its subdomains, or `*` for any (Django's rules).
 */
export function hostAllowed(host: string | undefined, allowed: readonly string[]): boolean {
  if (!host) return false;
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d+)?$/i.exec(host);
  if (!match?.[1]) return false;
  const name = match[1].toLowerCase().replace(/\.$/, '');
  return allowed.some((entry) => {
    const pattern = entry.toLowerCase();
    if (pattern === '*') return true;
    if (pattern.startsWith('.')) return name === pattern.slice(1) || name.endsWith(pattern);
    return name === pattern;
  });
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
export function csrfCookie(cookies: Record<string, string | undefined>): string | null {
  const token = cookies[CSRF_COOKIE];
  return token && TOKEN.test(token) ? token : null;
}

/** Send `token` as the CSRF cookie: HttpOnly (pages carry it in a meta tag), SameSite=Lax. */
export function setCsrfCookie(reply: FastifyReply, token: string, secure: boolean): void {
  reply.setCookie(CSRF_COOKIE, token, {
    path: '/',
    maxAge: CSRF_COOKIE_AGE,
    httpOnly: true,
    sameSite: 'lax',
    secure,
  });
}

/** The origins a browser may post from: the site's own, and `CSRF_TRUSTED_ORIGINS`. */
export function trustedOrigins(request: FastifyRequest, config: Settings): string[] {
  const origins = [`${request.protocol}://${request.host}`, ...config.CSRF_TRUSTED_ORIGINS];
  // Behind a proxy that ends TLS, the request itself may look like http: SITE_URL says
  // how browsers really reach the site.
  if (config.SITE_URL) origins.push(new URL(config.SITE_URL).origin);
  return origins;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * Why the request must be refused, or `null` when it may go on. Safe methods always pass;
 * others need a trusted `Origin` (when sent) and the cookie's token repeated (unless
 * `originOnly`: for views that check a token of their own).
 */
export function csrfFailure(
  request: FastifyRequest,
  cookieToken: string | null,
  origins: readonly string[],
  options: { originOnly?: boolean } = {},
): string | null {
  if (SAFE_METHODS.has(request.method)) return null;
  const origin = request.headers.origin;
  if (origin !== undefined && !origins.includes(origin)) {
    return `Origin checking failed - ${origin} does not match any trusted origins.`;
  }
  // Views with a token of their own (the task dashboard's forms) are checked by it.
  if (options.originOnly) return null;
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
