/** Signup, login and logout: the first article's `register` view, with sessions. */
import type { FastifyInstance } from 'fastify';
import { authenticate, login, logout, makePassword, normalizeEmail } from '../auth.ts';
import { cleanLogin, cleanRegistration, describeErrors } from '../forms.ts';
import { sendError, sendPage, siteUrl, wantsHtml } from '../http.ts';
import { User } from '../models/index.ts';
import { newCsrfToken, serializeCookie, setCsrfCookie } from '../security.ts';
import { settings } from '../settings.ts';
import { sendWelcomeEmail } from '../tasks.ts';
import { homePage } from '../templates/pages.ts';

export const SESSION_COOKIE = 'sessionid';

const MESSAGES: Record<string, string> = {
  registered: 'Registration complete! A welcome email is on its way. Log in below.',
  'logged-out': 'You are logged out.',
};

function pageContext(request: { csrfToken: string; user: User | null }, title: string) {
  return {
    title,
    csrfToken: request.csrfToken,
    user: request.user ? { name: request.user.name, email: request.user.email } : null,
  };
}

export function accountViews(app: FastifyInstance): void {
  app.get<{ Querystring: { message?: string } }>('/', (request, reply) => {
    const message = MESSAGES[request.query.message ?? ''];
    return sendPage(reply, homePage(pageContext(request, 'Welcome'), { message }));
  });

  /** For API clients: a CSRF token (also set as the cookie) to send back as `X-CSRFToken`. */
  app.get('/csrf', (request) => ({ csrfToken: request.csrfToken }));

  app.post('/register', async (request, reply) => {
    const html = wantsHtml(request);
    const form = cleanRegistration(request.body);
    if (!form.ok) {
      const message = describeErrors(form.errors);
      return html
        ? sendPage(reply, homePage(pageContext(request, 'Sign up'), { error: message }), 400)
        : sendError(reply, 400, message, { errors: form.errors });
    }
    const email = normalizeEmail(form.data.email);
    if (await request.em.count(User, { email })) {
      const message = 'A user with that email already exists.';
      return html
        ? sendPage(reply, homePage(pageContext(request, 'Sign up'), { error: message }), 400)
        : sendError(reply, 400, message, { errors: { email: message } });
    }
    const user = request.em.create(User, {
      email,
      name: form.data.name,
      passwordHash: await makePassword(form.data.password),
    });
    await request.em.flush();
    // The view answers at once; the email goes out in the background.
    await sendWelcomeEmail.enqueue(user.id, siteUrl(request));
    if (html) return reply.redirect('/?message=registered', 303);
    return reply.code(201).send({
      message: 'Registration complete!',
      user: { id: user.id, email: user.email, name: user.name },
    });
  });

  app.post('/login', async (request, reply) => {
    const html = wantsHtml(request);
    const form = cleanLogin(request.body);
    const user = form.ok
      ? await authenticate(request.em, form.data.email, form.data.password)
      : null;
    if (!user) {
      const message = form.ok
        ? 'Please enter a correct email and password.'
        : describeErrors(form.errors);
      const email = form.ok ? form.data.email : undefined;
      return html
        ? sendPage(reply, homePage(pageContext(request, 'Log in'), { error: message, email }), 400)
        : sendError(reply, 400, message);
    }
    const key = await login(request.em, user, settings.SESSION_COOKIE_AGE_SECONDS);
    reply.header(
      'set-cookie',
      serializeCookie(SESSION_COOKIE, key, {
        maxAge: settings.SESSION_COOKIE_AGE_SECONDS,
        secure: settings.SECURE_COOKIES,
      }),
    );
    // Rotate the CSRF token on login, as Django does.
    const csrfToken = newCsrfToken();
    setCsrfCookie(reply, csrfToken, settings.SECURE_COOKIES);
    if (html) return reply.redirect('/reports', 303);
    return { user: { id: user.id, email: user.email, name: user.name }, csrfToken };
  });

  app.post('/logout', async (request, reply) => {
    if (request.sessionKey) await logout(request.em, request.sessionKey);
    reply.header(
      'set-cookie',
      serializeCookie(SESSION_COOKIE, '', { maxAge: 0, secure: settings.SECURE_COOKIES }),
    );
    if (wantsHtml(request)) return reply.redirect('/?message=logged-out', 303);
    return { message: 'Logged out.' };
  });
}
