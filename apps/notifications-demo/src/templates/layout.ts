import { html, type SafeHtml } from './html.ts';

export interface PageContext {
  title: string;
  csrfToken: string;
  user: { name: string; email: string } | null;
}

/** The base template every page extends. Scripts and styles come from /static only (CSP). */
export function layout(page: PageContext, content: SafeHtml): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="csrf-token" content="${page.csrfToken}" />
        <title>${page.title} · djtasks notifications demo</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/static/app.css" />
        <script src="/static/app.js" defer></script>
      </head>
      <body>
        <header>
          <a class="brand" href="/">djtasks · notifications demo</a>
          ${
            page.user
              ? html`<nav>
                  <a href="/reports">Reports</a>
                  <span class="who">${page.user.name} &lt;${page.user.email}&gt;</span>
                  <form method="post" action="/logout" class="inline">
                    <input type="hidden" name="csrfmiddlewaretoken" value="${page.csrfToken}" />
                    <button type="submit" class="link">Log out</button>
                  </form>
                </nav>`
              : ''
          }
        </header>
        <main>${content}</main>
      </body>
    </html> `;
}
