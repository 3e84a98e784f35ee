import type { Report, ReportRow } from '../models/index.ts';
import { html, type SafeHtml } from './html.ts';
import { layout, type PageContext } from './layout.ts';

function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="csrfmiddlewaretoken" value="${token}" />`;
}

/** The home page: what the demo shows, and the signup and login forms. */
export function homePage(
  page: PageContext,
  options: { message?: string | undefined; error?: string | undefined; email?: string | undefined },
): SafeHtml {
  return layout(
    page,
    html`<h1>Background tasks, the Django 6 way</h1>
      <p class="lead">
        Sign up and a welcome email is sent by a background task while this page answers at once.
        Then ask for a PDF report: it is rendered in the background and appears when ready.
      </p>
      ${options.message ? html`<p class="flash ok" role="status">${options.message}</p>` : ''}
      ${options.error ? html`<p class="flash error" role="alert">${options.error}</p>` : ''}
      ${
        page.user
          ? html`<p>
              You are logged in as ${page.user.name}. <a href="/reports">Go to your reports</a>.
            </p>`
          : html`<div class="columns">
              <section>
                <h2>Sign up</h2>
                <form method="post" action="/register" id="signup">
                  ${csrfField(page.csrfToken)}
                  <label
                    >Name <input name="name" required maxlength="150" autocomplete="name"
                  /></label>
                  <label
                    >Email
                    <input name="email" type="email" required maxlength="254" autocomplete="email"
                  /></label>
                  <label
                    >Password
                    <input
                      name="password"
                      type="password"
                      required
                      minlength="8"
                      autocomplete="new-password"
                  /></label>
                  <button type="submit">Create account</button>
                </form>
              </section>
              <section>
                <h2>Log in</h2>
                <form method="post" action="/login" id="login">
                  ${csrfField(page.csrfToken)}
                  <label
                    >Email
                    <input
                      name="email"
                      type="email"
                      required
                      value="${options.email ?? ''}"
                      autocomplete="username"
                  /></label>
                  <label
                    >Password
                    <input name="password" type="password" required autocomplete="current-password"
                  /></label>
                  <button type="submit">Log in</button>
                </form>
              </section>
            </div>`
      }`,
  );
}

export const SAMPLE_ROWS: readonly ReportRow[] = [
  { label: 'Monday', value: 12 },
  { label: 'Tuesday', value: 19 },
  { label: 'Wednesday', value: 7 },
  { label: 'Thursday', value: 23 },
  { label: 'Friday', value: 15 },
];

function statusBadge(report: Report): SafeHtml {
  return html`<span class="status status-${report.status}" data-role="status"
    >${report.status}</span
  >`;
}

function reportRow(report: Report): SafeHtml {
  return html`<tr data-report-id="${report.id}" data-status="${report.status}">
    <td>#${report.id}</td>
    <td>${report.title}</td>
    <td>${report.createdAt.toISOString().slice(0, 16).replace('T', ' ')} UTC</td>
    <td>${statusBadge(report)}</td>
    <td data-role="action">
      ${
        report.status === 'completed'
          ? html`<a href="/reports/${report.id}/download">Download PDF</a>`
          : report.status === 'failed'
            ? html`<span class="error">${report.error ?? 'failed'}</span>`
            : html`<span class="muted">rendering…</span>`
      }
    </td>
  </tr>`;
}

/** The reports page: a form to ask for a report and the list, which updates itself. */
export function reportsPage(page: PageContext, reports: readonly Report[]): SafeHtml {
  const sample = SAMPLE_ROWS.map((row) => `${row.label}, ${row.value}`).join('\n');
  return layout(
    page,
    html`<h1>Your reports</h1>
      <section class="card">
        <h2>New report</h2>
        <form method="post" action="/reports" id="new-report">
          ${csrfField(page.csrfToken)}
          <label
            >Title <input name="title" required maxlength="120" value="Weekly signups"
          /></label>
          <label
            >Data, one <code>label, value</code> per line
            <textarea name="data" rows="6" required>${sample}</textarea>
          </label>
          <button type="submit">Generate PDF</button>
          <span id="report-message" class="muted" role="status"></span>
        </form>
      </section>
      <table id="reports">
        <thead>
          <tr>
            <th>Id</th>
            <th>Title</th>
            <th>Requested</th>
            <th>Status</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          ${reports.map(reportRow)}
        </tbody>
      </table>
      ${reports.length === 0 ? html`<p class="muted" id="no-reports">No reports yet.</p>` : ''}`,
  );
}
