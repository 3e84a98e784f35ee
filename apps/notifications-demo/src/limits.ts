/**
 * Rate limits on the views a password guesser or a mail bomber would hammer, through
 * @fastify/rate-limit: per client IP and per account (the email address in the body), each
 * answering 429 with a clear message and a Retry-After header.
 *
 * The plugin runs one route hook per request, so the two limits are checked here with its
 * `createRateLimit()` (same store, same windows), after the body is parsed and CSRF passed.
 */
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { normalizeEmail } from './auth.ts';
import { settings } from './settings.ts';

/** The normalized email address of a form or JSON body, or `null`. */
function emailOf(request: FastifyRequest): string | null {
  const body = request.body;
  if (typeof body !== 'object' || body === null) return null;
  const email = (body as Record<string, unknown>).email;
  return typeof email === 'string' && email.trim() ? normalizeEmail(email).toLowerCase() : null;
}

/** An HTTP 429 for fastify's error handler. */
class TooManyRequests extends Error {
  override name = 'TooManyRequests';
  readonly statusCode = 429;
}

function limits(
  app: FastifyInstance,
  name: string,
  perIp: number,
  perAccount: number,
  what: string,
): preHandlerAsyncHookHandler {
  const timeWindow = settings.RATE_LIMIT_WINDOW_SECONDS * 1000;
  const checks = [
    {
      check: app.createRateLimit({
        max: perIp,
        timeWindow,
        keyGenerator: (request) => `${name}:ip:${request.ip}`,
      }),
      message: `Too many ${what} from your network.`,
    },
    {
      check: app.createRateLimit({
        max: perAccount,
        timeWindow,
        keyGenerator: (request) => `${name}:account:${emailOf(request) ?? request.ip}`,
      }),
      message: `Too many ${what} for this account.`,
    },
  ];
  return async (request, reply) => {
    for (const { check, message } of checks) {
      const limit = await check(request);
      if (!limit.isAllowed && limit.isExceeded) {
        const seconds = limit.ttlInSeconds;
        reply.header('retry-after', String(seconds));
        const wait = seconds >= 120 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
        throw new TooManyRequests(`${message} Try again in ${wait}.`);
      }
    }
  };
}

/** The hook that limits `POST /login`. */
export function loginLimits(app: FastifyInstance): preHandlerAsyncHookHandler {
  return limits(
    app,
    'login',
    settings.LOGIN_LIMIT_PER_IP,
    settings.LOGIN_LIMIT_PER_ACCOUNT,
    'login attempts',
  );
}

/** The hook that limits `POST /register`. */
export function registerLimits(app: FastifyInstance): preHandlerAsyncHookHandler {
  return limits(
    app,
    'register',
    settings.REGISTER_LIMIT_PER_IP,
    settings.REGISTER_LIMIT_PER_ACCOUNT,
    'sign-ups',
  );
}
