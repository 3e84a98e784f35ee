/**
 * Pages for browsers, JSON for API clients: content negotiation on errors and on a report's
 * status, and forms that come back with what was typed after an error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { startDemo, type Demo } from './support/demo.ts';

let demo: Demo;
let client: Client;
const HTML = { accept: 'text/html,application/xhtml+xml' };

beforeAll(async () => {
  demo = await startDemo('pages');
  client = new Client(demo.app.url);
  await client.signUpAndLogIn({
    email: 'pages@example.com',
    name: 'Page Reader',
    password: 'a long enough passphrase',
  });
});

afterAll(async () => {
  await demo?.stop();
});

describe('content negotiation', () => {
  it('answers a browser with an HTML error page and an API client with JSON', async () => {
    for (const [path, status] of [
      ['/no/such/page', 404],
      ['/reports/abc', 400],
      ['/reports/424242', 404],
      ['/static/nope.js', 404],
    ] as const) {
      const page = await client.get(path, HTML);
      expect(page.status, path).toBe(status);
      expect(page.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(page.text, path).toContain(`<p class="status-code">${status}</p>`);
      const json = await client.get(path);
      expect(json.status, path).toBe(status);
      expect(json.headers.get('content-type'), path).toMatch(/^application\/json/);
      expect(typeof json.body.error, path).toBe('string');
    }
  });

  it("gives a browser a page for GET /reports/:id, and a script the report's JSON", async () => {
    const created = await client.post('/reports', {
      title: 'Visits <by> "day"',
      data: [{ label: 'Mon', value: 3 }],
    });
    const id = created.body.report_id as number;
    const page = await client.get(`/reports/${id}`, HTML);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1 class="title">Visits &lt;by&gt; &quot;day&quot;</h1>');
    expect(page.text).toContain(`href="/reports/${id}/download"`);
    const json = await client.get(`/reports/${id}`);
    expect(json.body).toMatchObject({ report_id: id, status: 'completed' });
  });
});

describe('forms after an error', () => {
  it('keep the title and data typed in the report form', async () => {
    const page = await client.request('POST', '/reports', {
      form: {
        title: 'Typed title',
        data: 'Mon, 3\nTue, lots',
        csrfmiddlewaretoken: client.csrfToken ?? '',
      },
      headers: HTML,
      csrf: false,
    });
    expect(page.status).toBe(400);
    expect(page.text).toContain('value="Typed title"');
    expect(page.text).toContain('Mon, 3\nTue, lots</textarea>');
    expect(page.text).toContain('Row 2 (&quot;Tue&quot;): the value must be a number.');
  });

  it('keep the email of a failed login, never the password', async () => {
    const anonymous = new Client(demo.app.url);
    await anonymous.get('/csrf');
    const page = await anonymous.request('POST', '/login', {
      form: {
        email: 'pages@example.com',
        password: 'wrong password here',
        csrfmiddlewaretoken: anonymous.csrfToken ?? '',
      },
      headers: HTML,
      csrf: false,
    });
    expect(page.status).toBe(400);
    expect(page.text).toContain('Please enter a correct email and password.');
    expect(page.text).toContain('value="pages@example.com"');
    expect(page.text).not.toContain('wrong password here');
  });
});
