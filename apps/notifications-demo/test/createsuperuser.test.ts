/**
 * `manage.ts createsuperuser`, Django's command: from flags and the environment (`--noinput`,
 * for scripts and containers) and on a real terminal (prompts, a hidden password, answers
 * asked again until acceptable), with the signup's password rules.
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentWith } from '../src/settings.ts';
import { APP_DIR, migrate, temporaryFolder } from './support/processes.ts';

const run = promisify(execFile);
const folder = temporaryFolder('demo-createsuperuser-');
const databaseFile = join(folder.path, 'db.sqlite3');
const ENV = { DATABASE_URL: `sqlite:${databaseFile}`, EMAIL_BACKEND: 'locmem' };
const STAFF = {
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  password: 'analytical-engine-1843',
};

/** `manage.ts createsuperuser` with `env` on top of the test's. */
function createsuperuser(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, ['src/manage.ts', 'createsuperuser', ...args], {
    cwd: APP_DIR,
    env: environmentWith({ ...ENV, ...env }),
  }).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      out: error.stdout + error.stderr,
    }),
  );
}

/** The user with `email`, as stored. */
function user(email: string): Record<string, unknown> | undefined {
  const db = new DatabaseSync(databaseFile, { readOnly: true });
  try {
    return db.prepare('select * from accounts_user where email = ?').get(email);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  await migrate(ENV);
});

afterAll(() => folder.remove());

describe('manage.ts createsuperuser', () => {
  it('creates a staff user from flags and the environment, and refuses what signup refuses', async () => {
    const created = await createsuperuser(['--noinput', '--email', STAFF.email], {
      SUPERUSER_NAME: STAFF.name,
      SUPERUSER_PASSWORD: STAFF.password,
    });
    expect(created).toMatchObject({ code: 0 });
    expect(created.out).toContain(`Superuser created successfully: ${STAFF.email}`);
    expect(user(STAFF.email)).toMatchObject({ name: STAFF.name, is_staff: 1 });
    expect(String(user(STAFF.email)?.['password_hash'])).toMatch(/^scrypt\$/);
    const weak = await createsuperuser(
      ['--noinput', '--email', 'eve@example.com', '--name', 'Eve'],
      {
        SUPERUSER_PASSWORD: '12345678',
      },
    );
    expect(weak.code).toBe(1);
    expect(weak.out).toContain('This password is too common.');
    expect(weak.out).toContain('This password is entirely numeric.');
    const taken = await createsuperuser(['--noinput', '--email', STAFF.email, '--name', 'Again'], {
      SUPERUSER_PASSWORD: 'another-long-one-55',
    });
    expect(taken).toMatchObject({ code: 1 });
    expect(taken.out).toContain('That email address is already taken.');
    const missing = await createsuperuser(['--noinput', '--email', 'x@example.com']);
    expect(missing.code).toBe(2);
    expect(missing.out).toContain('--name (or SUPERUSER_NAME), SUPERUSER_PASSWORD');
    // Not a terminal and no --noinput: it says how to script it instead of hanging.
    const piped = await createsuperuser([]);
    expect(piped.code).toBe(2);
    expect(piped.out).toContain('pass --noinput');
  });

  it('asks on a terminal, hides the password and asks again until it is acceptable', async () => {
    // `script` gives the command a pseudo-terminal; each answer is typed after its prompt.
    const command = `${process.execPath} src/manage.ts createsuperuser`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: APP_DIR,
      env: environmentWith(ENV),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let transcript = '';
    let position = 0;
    child.stdout.on('data', (chunk: Buffer) => (transcript += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const type = async (prompt: string, text: string) => {
      await expect
        .poll(() => transcript.indexOf(prompt, position), { timeout: 30_000 })
        .toBeGreaterThanOrEqual(0);
      position = transcript.indexOf(prompt, position) + prompt.length;
      child.stdin.write(`${text}\r`);
    };
    await type('Email address: ', STAFF.email);
    await type('Email address: ', 'grace@example.com');
    await type('Name: ', 'Grace Hopper');
    await type('Password: ', 'grace');
    await type('Password (again): ', 'grace');
    await type('Password: ', 'compiler-pioneer-1952');
    await type('Password (again): ', 'compiler-pioneer-1953');
    await type('Password: ', 'compiler-pioneer-1952');
    await type('Password (again): ', 'compiler-pioneer-1952');
    expect(await exited).toBe(0);
    expect(transcript).toContain('Error: That email address is already taken.');
    expect(transcript).toContain('This password is too short.');
    expect(transcript).toContain("Error: Your passwords didn't match.");
    expect(transcript).toContain('Superuser created successfully: grace@example.com');
    expect(transcript).not.toContain('compiler-pioneer');
    expect(user('grace@example.com')).toMatchObject({ name: 'Grace Hopper', is_staff: 1 });
  });
});
