/**
 * Abuse limits: login and registration per account and per IP (429 with a clear message),
 * the cap on one user's unfinished reports, and request/connection timeouts for slow clients.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { startDemo, type Demo } from './support/demo.ts';

let demo: Demo;
const PASSWORD = 'a long enough passphrase';

beforeAll(async () => {
  demo = await startDemo('limits', {
    // The database backend with no worker: reports stay pending, as behind a busy queue.
    TASK_BACKEND: 'database',
    LOGIN_LIMIT_PER_ACCOUNT: '3',
    LOGIN_LIMIT_PER_IP: '8',
    REGISTER_LIMIT_PER_ACCOUNT: '2',
    REGISTER_LIMIT_PER_IP: '6',
    MAX_UNFINISHED_REPORTS: '2',
    CONNECTION_IDLE_TIMEOUT_SECONDS: '1',
    REQUEST_TIMEOUT_SECONDS: '3',
  });
});

afterAll(async () => {
  await demo?.stop();
});

async function csrfClient(): Promise<Client> {
  const client = new Client(demo.app.url);
  await client.get('/csrf');
  return client;
}

describe('rate limits', () => {
  // Registration first: the per-IP budget of 6 is shared by every test from 127.0.0.1.
  it('limits sign-ups per address and per IP, then answers 429 with a clear message', async () => {
    const client = await csrfClient();
    const user = { email: 'target@example.com', name: 'Target', password: PASSWORD };
    expect((await client.post('/register', user)).status).toBe(202);
    expect((await client.post('/register', user)).status).toBe(202);
    const third = await client.post('/register', user);
    expect(third.status).toBe(429);
    expect(third.body.error).toMatch(/^Too many sign-ups for this account\. Try again in \d+/);
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);

    // Other addresses from the same IP: 3 more fit in the IP's budget of 6 (3 used above,
    // the refused one included), then the IP is refused whatever the address.
    for (const n of [1, 2, 3]) {
      const ok = await client.post('/register', { ...user, email: `ip${n}@example.com` });
      expect(ok.status, `ip${n}`).toBe(202);
    }
    const refused = await client.post('/register', { ...user, email: 'ip4@example.com' });
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatch(/^Too many sign-ups from your network/);
    expect(demo.query("select 1 from accounts_user where email = 'ip4@example.com'")).toEqual([]);
  });

  it('limits login attempts per account: the right password after the limit is refused too', async () => {
    const client = await csrfClient();
    const attempt = (password: string) =>
      client.post('/login', { email: 'target@example.com', password });
    expect((await attempt('wrong one')).status).toBe(400);
    expect((await attempt('wrong two')).status).toBe(400);
    expect((await attempt(PASSWORD)).status).toBe(200);
    const limited = await attempt(PASSWORD);
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatch(/^Too many login attempts for this account\. Try again in/);
    // A browser gets the same as a page.
    const page = await client.request('POST', '/login', {
      form: { email: 'target@example.com', password: PASSWORD },
      headers: { accept: 'text/html' },
    });
    expect(page.status).toBe(429);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('Too many login attempts for this account');
  });

  it('limits login attempts per IP across accounts', async () => {
    const client = await csrfClient();
    // 5 attempts so far from this IP (previous test, the refused ones count too); 3 more on
    // other accounts reach the limit of 8.
    for (const n of [1, 2, 3]) {
      const denied = await client.post('/login', {
        email: `nobody${n}@example.com`,
        password: 'x',
      });
      expect(denied.status, `nobody${n}`).toBe(400);
    }
    const limited = await client.post('/login', { email: 'ip1@example.com', password: PASSWORD });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatch(/^Too many login attempts from your network/);
  });
});

describe('without rate limits in the way', () => {
  let other: Demo;
  beforeAll(async () => {
    other = await startDemo('caps', {
      // The database backend with no worker: reports stay pending, as behind a busy queue.
      TASK_BACKEND: 'database',
      MAX_UNFINISHED_REPORTS: '2',
      CONNECTION_IDLE_TIMEOUT_SECONDS: '1',
      REQUEST_TIMEOUT_SECONDS: '3',
    });
  });
  afterAll(async () => {
    await other?.stop();
  });

  it('answers 429 once a user has MAX_UNFINISHED_REPORTS pending, and creates nothing', async () => {
    const client = new Client(other.app.url);
    await client.signUpAndLogIn({ email: 'busy@example.com', name: 'Busy', password: PASSWORD });
    const data = [{ label: 'a', value: 1 }];
    expect((await client.post('/reports', { title: 'One', data })).status).toBe(202);
    expect((await client.post('/reports', { title: 'Two', data })).status).toBe(202);
    const third = await client.post('/reports', { title: 'Three', data });
    expect(third.status).toBe(429);
    expect(third.body.error).toBe(
      'You already have 2 reports being generated (the limit is 2). Wait until one is ready, then ask again.',
    );
    expect(other.query('select title from reports_report order by id')).toEqual([
      { title: 'One' },
      { title: 'Two' },
    ]);
    // Another user is not held back by this one.
    const second = new Client(other.app.url);
    await second.signUpAndLogIn({ email: 'calm@example.com', name: 'Calm', password: PASSWORD });
    expect((await second.post('/reports', { title: 'Mine', data })).status).toBe(202);
  });

  it('closes a connection whose announced body never arrives (slowloris)', async () => {
    const { port } = new URL(other.app.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(
      'POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"ema',
    );
    // Nothing more is sent: the server must close the connection by itself (the test's
    // timeout, two minutes, is what fails this when it does not).
    await closed;
    expect(received === '' || /^HTTP\/1\.1 408/.test(received)).toBe(true);
  });

  it('ends a request that trickles in slower than REQUEST_TIMEOUT_SECONDS allows', async () => {
    const { port } = new URL(other.app.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(
      'POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
    );
    // One byte every 150 ms: never idle for the 1 s idle timeout, but the 3 s deadline for
    // the whole request passes long before 1,000 bytes have come.
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(' ');
    }, 150);
    try {
      await closed;
    } finally {
      clearInterval(drip);
    }
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a connection whose headers never end', async () => {
    const { port } = new URL(other.app.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('data', () => undefined);
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    await closed;
  });
});
