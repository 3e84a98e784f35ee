/** The emails the tasks send, each as a subject, a text body and an HTML body. */
import { html } from './html.ts';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

function wrap(body: string): string {
  return `<!doctype html><html><body style="font-family: sans-serif; line-height: 1.5">${body}</body></html>`;
}

export function welcomeEmail(user: { name: string }, siteUrl: string): RenderedEmail {
  return {
    subject: 'Welcome!',
    text: `Hi ${user.name},\n\nThanks for signing up.\n\nLog in and ask for your first report at ${siteUrl}/reports\n\n-- The djtasks demo\n`,
    html: wrap(
      html`<p>Hi ${user.name},</p>
        <p>Thanks for signing up.</p>
        <p><a href="${siteUrl}/reports">Log in and ask for your first report</a>.</p>
        <p>-- The djtasks demo</p>`.value,
    ),
  };
}

export function notificationEmail(
  user: { name: string },
  message: string,
  link: string | null,
): RenderedEmail {
  return {
    subject: 'Notification',
    text: `Hi ${user.name},\n\n${message}\n${link ? `\n${link}\n` : ''}\n-- The djtasks demo\n`,
    html: wrap(
      html`<p>Hi ${user.name},</p>
        <p>${message}</p>
        ${link ? html`<p><a href="${link}">${link}</a></p>` : ''}
        <p>-- The djtasks demo</p>`.value,
    ),
  };
}
