/**
 * Accounts, Django's way: password validators, scrypt parameters upgraded at login, a new
 * session on every login that ends the old one, a signed session cookie, and a signup that
 * answers the same whether or not the address has an account.
 */
import { scryptSync, randomBytes } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePassword } from '../src/password-validation.ts';
import { Client } from './support/client.ts';
import { startDemo, type Demo } from './support/demo.ts';
import { recipients } from './support/smtp.ts';

let demo: Demo;
const PASSWORD = 'a long enough passphrase';

beforeAll(async () => {
  demo = await startDemo('accounts');
});

afterAll(async () => {
  await demo?.stop();
});

describe('password validation', () => {
  it("refuses what Django's default validators refuse, with their messages", () => {
    const user = { 'email address': 'anna.smith@example.com', name: 'Anna Smith' };
    expect(validatePassword('12345678', user)).toEqual([
      'This password is too common.',
      'This password is entirely numeric.',
    ]);
    expect(validatePassword('x9!kQ', user)).toEqual([
      'This password is too short. It must contain at least 8 characters.',
    ]);
    expect(validatePassword('Password', user)).toEqual(['This password is too common.']);
    expect(validatePassword('84736251908', user)).toEqual(['This password is entirely numeric.']);
    expect(validatePassword('annasmith', user)).toEqual([
      'The password is too similar to the email address.',
    ]);
    expect(
      validatePassword('gracehopper', { 'email address': 'g@x.io', name: 'Grace Hopper' }),
    ).toEqual(['The password is too similar to the name.']);
    expect(validatePassword('anna.smith@example', user)).toEqual([
      'The password is too similar to the email address.',
    ]);
    expect(validatePassword('x'.repeat(129), user)).toEqual([
      'This password is too long (at most 128 characters).',
    ]);
    expect(validatePassword(PASSWORD, user)).toEqual([]);
    expect(validatePassword('correct horse battery staple', user)).toEqual([]);
  });

  it('answers 400 naming the rule, and creates no account', async () => {
    const client = new Client(demo.app.url);
    await client.get('/csrf');
    const cases: [string, RegExp][] = [
      ['12345678', /This password is too common\. This password is entirely numeric\./],
      ['qwertyuiop', /too common/],
      ['weakuser', /too similar to the name/],
    ];
    for (const [password, message] of cases) {
      const response = await client.post('/register', {
        email: 'weak.user@example.com',
        name: 'Weak User',
        password,
      });
      expect(response.status, password).toBe(400);
      expect(response.body.errors.password).toMatch(message);
    }
    expect(demo.query("select 1 from accounts_user where email = 'weak.user@example.com'")).toEqual(
      [],
    );
  });
});

describe('password hashes', () => {
  it('stores scrypt at N=2^14, r=8, p=5 and upgrades an older hash at the next login', async () => {
    const client = new Client(demo.app.url);
    await client.signUpAndLogIn({ email: 'old@example.com', name: 'Old', password: PASSWORD });
    const stored = () =>
      String(
        demo.query("select password_hash from accounts_user where email = 'old@example.com'")[0]
          ?.password_hash,
      );
    expect(stored()).toMatch(/^scrypt\$16384\$8\$5\$[\w-]{22}\$[\w-]{43}$/);
    expect(stored()).not.toContain(PASSWORD);

    // The hash an older release made (N=2^15, r=8, p=1), written straight into the row.
    const salt = randomBytes(16);
    const key = scryptSync(PASSWORD, salt, 32, {
      N: 2 ** 15,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    });
    const old = `scrypt$32768$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
    const db = new DatabaseSync(demo.databaseFile);
    db.prepare('update accounts_user set password_hash = ? where email = ?').run(
      old,
      'old@example.com',
    );
    db.close();

    const wrong = new Client(demo.app.url);
    await wrong.get('/csrf');
    expect(
      (await wrong.post('/login', { email: 'old@example.com', password: 'not it at all' })).status,
    ).toBe(400);
    expect(stored()).toBe(old); // a failed login changes nothing

    const again = new Client(demo.app.url);
    await again.get('/csrf');
    expect(
      (await again.post('/login', { email: 'old@example.com', password: PASSWORD })).status,
    ).toBe(200);
    expect(stored()).toMatch(/^scrypt\$16384\$8\$5\$/);
    // The upgraded hash still checks.
    const third = new Client(demo.app.url);
    await third.get('/csrf');
    expect(
      (await third.post('/login', { email: 'old@example.com', password: PASSWORD })).status,
    ).toBe(200);
  });
});

describe('sessions', () => {
  it('starts a new session on every login and ends the one the browser had', async () => {
    const client = new Client(demo.app.url);
    await client.signUpAndLogIn({
      email: 'rotate@example.com',
      name: 'Rotate',
      password: PASSWORD,
    });
    const first = client.cookies.get('sessionid') ?? '';
    expect((await client.get('/reports')).status).toBe(200);
    const sessions = () =>
      Number(
        demo.query(
          "select count(*) as n from accounts_session s join accounts_user u on u.id = s.user_id where u.email = 'rotate@example.com'",
        )[0]?.n,
      );
    expect(sessions()).toBe(1);

    expect(
      (await client.post('/login', { email: 'rotate@example.com', password: PASSWORD })).status,
    ).toBe(200);
    const second = client.cookies.get('sessionid') ?? '';
    expect(second).not.toBe(first);
    expect(sessions()).toBe(1);
    const replay = new Client(demo.app.url);
    replay.cookies.set('sessionid', first);
    expect((await replay.get('/reports')).status).toBe(401);
    expect((await client.get('/reports')).status).toBe(200);
  });

  it('signs the session cookie with SECRET_KEY: a tampered or unsigned cookie is no session', async () => {
    const client = new Client(demo.app.url);
    await client.signUpAndLogIn({
      email: 'signed@example.com',
      name: 'Signed',
      password: PASSWORD,
    });
    const cookie = client.cookies.get('sessionid') ?? '';
    const [key, signature] = cookie.split('.');
    expect(key).toMatch(/^[\w-]{43}$/);
    expect(signature).toMatch(/^[\w+/-]{43}$/);
    for (const forged of [
      key ?? '',
      `${key}.${'A'.repeat(43)}`,
      `${key?.slice(0, -1)}${key?.endsWith('A') ? 'B' : 'A'}.${signature}`,
    ]) {
      const other = new Client(demo.app.url);
      other.cookies.set('sessionid', forged);
      expect((await other.get('/reports')).status, forged).toBe(401);
    }
  });
});

describe('signup does not reveal accounts', () => {
  it('answers an existing address exactly as a new one, and emails the owner instead', async () => {
    const owner = new Client(demo.app.url);
    await owner.signUpAndLogIn({ email: 'owner@example.com', name: 'Owner', password: PASSWORD });
    await demo.inbox.waitFor((m) => recipients(m).includes('owner@example.com'));

    const visitor = new Client(demo.app.url);
    await visitor.get('/csrf');
    const fresh = await visitor.post('/register', {
      email: 'fresh@example.com',
      name: 'Fresh',
      password: PASSWORD,
    });
    const taken = await visitor.post('/register', {
      email: 'owner@example.com',
      name: 'Impostor',
      password: 'another long passphrase',
    });
    expect(taken.status).toBe(fresh.status);
    expect(taken.body).toEqual(fresh.body);
    expect(taken.body).toEqual({
      message: 'Registration received. Check your email to continue, then log in.',
    });

    const warning = await demo.inbox.waitFor(
      (m) =>
        recipients(m).includes('owner@example.com') && m.subject !== 'Welcome to the djtasks demo',
    );
    expect(warning.subject).toBe('Someone tried to sign up with your email address');
    // Nothing of the visitor's was stored: the owner's name and password are unchanged.
    const row = demo.query("select name from accounts_user where email = 'owner@example.com'");
    expect(row).toEqual([{ name: 'Owner' }]);
    const login = new Client(demo.app.url);
    await login.get('/csrf');
    expect(
      (
        await login.post('/login', {
          email: 'owner@example.com',
          password: 'another long passphrase',
        })
      ).status,
    ).toBe(400);
  });
});

describe('flash messages', () => {
  it('shows only known messages: /?message=constructor prints nothing', async () => {
    const client = new Client(demo.app.url);
    for (const message of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const page = await client.get(`/?message=${message}`, { accept: 'text/html' });
      expect(page.status).toBe(200);
      expect(page.text).not.toMatch(/native code|\[object|function/);
      expect(page.text).not.toContain('role="status"');
    }
    const known = await client.get('/?message=logged-out', { accept: 'text/html' });
    expect(known.text).toContain('You are logged out.');
  });
});
