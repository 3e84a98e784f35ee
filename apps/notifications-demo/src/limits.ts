/**
 * Rate limits on the views a password guesser or a mail bomber would hammer, through
 * @fastify/rate-limit: per client IP and per account (the email address in the body), each
 * answering 429 with a clear message and a Retry-After header.
 */
import type { FastifyInstance, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { normalizeEmail } from './auth.ts';
import { settings } from './settings.ts';

/** The normalized email address of a form or JSON body, or `null`. */
function emailOf(request: FastifyRequest): string | null {
  const body = request.body;
  if (typeof body !== 'object' || body === null) return null;
  const email = (body as Record<string, unknown>).email;
  return typeof email === 'string' && email.trim() ? normalizeEmail(email).toLowerCase() : null;
}

function limit(
  app: FastifyInstance,
  name: string,
  max: number,
  by: 'ip' | 'account',
  what: string,
): preHandlerHookHandler {
  return app.rateLimit({
    max,
    timeWindow: settings.RATE_LIMIT_WINDOW_SECONDS * 1000,
    // After the body is parsed (the account is in it) and the CSRF check has passed.
    hook: 'preHandler',
    keyGenerator: (request) =>
      by === 'ip'
        ? `${name}:ip:${request.ip}`
        : `${name}:account:${emailOf(request) ?? request.ip}`,
    errorResponseBuilder: (_request, context) => {
      const error = new Error(
        by === 'ip'
          ? `Too many ${what} from your network. Try again in ${context.after}.`
          : `Too many ${what} for this account. Try again in ${context.after}.`,
      ) as Error & { statusCode: number };
      error.statusCode = 429;
      return error;
    },
  }) as preHandlerHookHandler;
}

/** The hooks that limit `POST /login`. */
export function loginLimits(app: FastifyInstance): preHandlerHookHandler[] {
  return [
    limit(app, 'login', settings.LOGIN_LIMIT_PER_IP, 'ip', 'login attempts'),
    limit(app, 'login', settings.LOGIN_LIMIT_PER_ACCOUNT, 'account', 'login attempts'),
  ];
}

/** The hooks that limit `POST /register`. */
export function registerLimits(app: FastifyInstance): preHandlerHookHandler[] {
  return [
    limit(app, 'register', settings.REGISTER_LIMIT_PER_IP, 'ip', 'sign-ups'),
    limit(app, 'register', settings.REGISTER_LIMIT_PER_ACCOUNT, 'account', 'sign-ups'),
  ];
}
