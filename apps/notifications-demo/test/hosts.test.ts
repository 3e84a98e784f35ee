/**
 * Host header attacks and proxies: only ALLOWED_HOSTS are served, every absolute link comes
 * from SITE_URL, and behind an HTTPS proxy the browser's https Origin is trusted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { rawRequest, startDemo, type Demo } from './support/demo.ts';
import { recipients } from './support/smtp.ts';

let demo: Demo;

beforeAll(async () => {
  demo = await startDemo('hosts', {
    SITE_URL: 'https://demo.example',
    // The proxy's name and the loopback address the tests use.
    ALLOWED_HOSTS: 'demo.example,127.0.0.1',
    TRUST_PROXY: 'true',
  });
});

afterAll(async () => {
  await demo?.stop();
});

describe('ALLOWED_HOSTS', () => {
  it('answers 400 for any other Host header, to browsers and API clients', async () => {
    for (const host of ['evil.example', 'demo.example.evil.example', 'demo.example@evil']) {
      const json = await rawRequest(demo.app.url, {
        path: '/',
        headers: { host, accept: 'application/json' },
      });
      expect(json.status, host).toBe(400);
      expect(JSON.parse(json.text).error).toMatch(/^Invalid HTTP_HOST header/);
    }
    const page = await rawRequest(demo.app.url, {
      path: '/reports',
      headers: { host: 'evil.example:8000', accept: 'text/html' },
    });
    expect(page.status).toBe(400);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('Invalid HTTP_HOST header: &#39;evil.example:8000&#39;');
    // A forged X-Forwarded-Host is checked the same way behind a trusted proxy.
    const forwarded = await rawRequest(demo.app.url, {
      path: '/',
      headers: { host: 'demo.example', 'x-forwarded-host': 'evil.example' },
    });
    expect(forwarded.status).toBe(400);
    // The allowed names work, with or without a port; the health check answers any name.
    for (const host of ['demo.example', 'DEMO.example:443', '127.0.0.1:1']) {
      expect((await rawRequest(demo.app.url, { path: '/', headers: { host } })).status).toBe(200);
    }
    expect(
      (await rawRequest(demo.app.url, { path: '/health', headers: { host: 'x' } })).status,
    ).toBe(200);
  });

  it('builds links in emails from SITE_URL, whatever Host the request came with', async () => {
    const client = new Client(demo.app.url);
    await client.get('/csrf');
    const email = 'victim@example.com';
    const registered = await client.request('POST', '/register', {
      json: { email, name: 'Victim', password: 'a long enough passphrase' },
      headers: { 'x-forwarded-host': 'demo.example' },
    });
    expect(registered.status).toBe(202);
    const welcome = await demo.inbox.waitFor((m) => recipients(m).includes(email));
    expect(welcome.text).toContain('https://demo.example/reports');
    expect(welcome.html).toContain('href="https://demo.example/reports"');
    expect(`${welcome.text}${welcome.html}`).not.toMatch(/127\.0\.0\.1|localhost/);
  });
});

describe('behind an HTTPS proxy', () => {
  it("accepts a browser's POST from the https origin and refuses other origins", async () => {
    const client = new Client(demo.app.url);
    await client.get('/csrf');
    const form = (email: string) => ({
      email,
      name: 'Proxied',
      password: 'a long enough passphrase',
      csrfmiddlewaretoken: client.csrfToken ?? '',
    });
    const proxied = {
      host: 'demo.example',
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.9',
    };
    const accepted = await client.request('POST', '/register', {
      form: form('proxied@example.com'),
      headers: { ...proxied, origin: 'https://demo.example', accept: 'text/html' },
      csrf: false,
    });
    expect(accepted.status).toBe(303);
    // The proxy said https: the plain-http origin of the same name is another origin.
    for (const origin of ['http://demo.example', 'https://evil.example', 'null']) {
      const refused = await client.request('POST', '/register', {
        form: form('other@example.com'),
        headers: { ...proxied, origin },
        csrf: false,
      });
      expect(refused.status, origin).toBe(403);
      expect(refused.text).toContain('Origin checking failed');
    }
    expect(demo.query("select 1 from accounts_user where email = 'other@example.com'")).toEqual([]);
  });
});

describe('caching', () => {
  it('sends Cache-Control: no-store on every page of a logged-in user', async () => {
    const client = new Client(demo.app.url);
    await client.signUpAndLogIn({
      email: 'cache@example.com',
      name: 'Cache',
      password: 'a long enough passphrase',
    });
    for (const path of ['/', '/reports', '/reports/999', '/nowhere', '/csrf']) {
      const page = await client.get(path, { accept: 'text/html' });
      expect(page.headers.get('cache-control'), path).toBe('no-store');
    }
  });
});
