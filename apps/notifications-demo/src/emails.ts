/** The emails the tasks send: a subject, a plain-text body and an HTML body from templates. */
import { renderHtml, renderText } from './templates.ts';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

function render(name: string, subject: string, context: Record<string, unknown>): RenderedEmail {
  const full = { subject, ...context };
  return {
    subject,
    text: renderText(`emails/${name}.txt.njk`, full),
    html: renderHtml(`emails/${name}.html.njk`, full),
  };
}

export function welcomeEmail(user: { name: string }, siteUrl: string): RenderedEmail {
  return render('welcome', 'Welcome to the djtasks demo', {
    name: user.name,
    link: `${siteUrl}/reports`,
  });
}

export function accountExistsEmail(
  user: { name: string; email: string },
  siteUrl: string,
): RenderedEmail {
  return render('account-exists', 'Someone tried to sign up with your email address', {
    name: user.name,
    email: user.email,
    link: `${siteUrl}/`,
  });
}

export function notificationEmail(
  user: { name: string },
  subject: string,
  message: string,
  link: string | null,
): RenderedEmail {
  // The button says where it leads: the PDF itself, or the report's page.
  const action = link?.endsWith('/download') ? 'Download the PDF' : 'See the report';
  return render('notification', subject, { name: user.name, message, link, action });
}
