/** Signup, login and logout: the first article's `register` view, with sessions. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, login, logout, makePassword, normalizeEmail } from '../auth.ts';
import { cleanLogin, cleanRegistration, describeErrors, typedValues } from '../forms.ts';
import { render, sendError, siteUrl, wantsHtml } from '../http.ts';
import { loginLimits, registerLimits } from '../limits.ts';
import { User } from '../models/index.ts';
import { newCsrfToken, setCsrfCookie } from '../security.ts';
import { settings } from '../settings.ts';
import { sendAccountExistsEmail, sendWelcomeEmail } from '../tasks.ts';

export const SESSION_COOKIE = 'sessionid';

/** The flash messages `/?message=…` may show; any other value shows nothing. */
const MESSAGES = new Map([
  ['registered', 'Thanks! Check your email: we sent you a message to continue. Then log in below.'],
  ['logged-out', 'You are logged out.'],
]);

/** The same answer whether or not the address has an account, so the form reveals none. */
const REGISTERED = 'Registration received. Check your email to continue, then log in.';

/** Show the home page again after a form error, with what was typed (never the password). */
function formError(
  request: FastifyRequest,
  reply: FastifyReply,
  form: 'signup' | 'login',
  errors: Record<string, string>,
): FastifyReply {
  return render(
    reply,
    'home.njk',
    {
      title: form === 'signup' ? 'Sign up' : 'Log in',
      form,
      errors,
      values: typedValues(request.body, ['name', 'email']),
    },
    400,
  );
}

export function accountViews(app: FastifyInstance): void {
  app.get<{ Querystring: { message?: string } }>('/', (request, reply) => {
    const message = MESSAGES.get(String(request.query.message ?? ''));
    return render(reply, 'home.njk', { title: 'Welcome', message, errors: {}, values: {} });
  });

  /** For API clients: a CSRF token (also set as the cookie) to send back as `X-CSRFToken`. */
  app.get('/csrf', (request) => ({ csrfToken: request.csrfToken }));

  app.post('/register', { preHandler: registerLimits(app) }, async (request, reply) => {
    const form = cleanRegistration(request.body);
    if (!form.ok) {
      return wantsHtml(request)
        ? formError(request, reply, 'signup', form.errors)
        : sendError(reply, 400, describeErrors(form.errors), { errors: form.errors });
    }
    const email = normalizeEmail(form.data.email);
    // Hash in both cases, so the answer takes as long whether or not the account exists.
    const passwordHash = await makePassword(form.data.password);
    const existing = await request.em.findOne(User, { email });
    if (existing) {
      // Tell the owner instead of the visitor (Django's advice for enumeration-safe signup).
      await sendAccountExistsEmail.enqueue(existing.id, siteUrl(request));
    } else {
      const user = request.em.create(User, { email, name: form.data.name, passwordHash });
      await request.em.flush();
      // The view answers at once; the email goes out in the background.
      await sendWelcomeEmail.enqueue(user.id, siteUrl(request));
    }
    if (wantsHtml(request)) return reply.redirect('/?message=registered', 303);
    return reply.code(202).send({ message: REGISTERED });
  });

  app.post('/login', { preHandler: loginLimits(app) }, async (request, reply) => {
    const form = cleanLogin(request.body);
    const user = form.ok
      ? await authenticate(request.em, form.data.email, form.data.password)
      : null;
    if (!user) {
      const errors = form.ok
        ? { login: 'Please enter a correct email and password.' }
        : form.errors;
      return wantsHtml(request)
        ? formError(request, reply, 'login', errors)
        : sendError(reply, 400, describeErrors(errors));
    }
    // A new session key; the one this browser had before ends (Django's cycle_key).
    const key = await login(
      request.em,
      user,
      settings.SESSION_COOKIE_AGE_SECONDS,
      request.sessionKey,
    );
    reply.setCookie(SESSION_COOKIE, key, {
      path: '/',
      maxAge: settings.SESSION_COOKIE_AGE_SECONDS,
      httpOnly: true,
      sameSite: 'lax',
      secure: settings.SECURE_COOKIES,
      signed: true,
    });
    // Rotate the CSRF token on login, as Django does.
    const csrfToken = newCsrfToken();
    setCsrfCookie(reply, csrfToken, settings.SECURE_COOKIES);
    if (wantsHtml(request)) return reply.redirect('/reports', 303);
    return { user: { id: user.id, email: user.email, name: user.name }, csrfToken };
  });

  app.post('/logout', async (request, reply) => {
    if (request.sessionKey) await logout(request.em, request.sessionKey);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    if (wantsHtml(request)) return reply.redirect('/?message=logged-out', 303);
    return { message: 'Logged out.' };
  });
}
