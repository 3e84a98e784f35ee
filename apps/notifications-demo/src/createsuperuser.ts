/**
 * `node src/manage.ts createsuperuser`: Django's command of that name. On a terminal it asks
 * for the email, the name and the password (twice, not echoed); with `--noinput` it takes
 * `--email` / `--name` (or `SUPERUSER_EMAIL` / `SUPERUSER_NAME`) and `SUPERUSER_PASSWORD` from
 * the environment, for scripts and containers. The account is checked as a signup is (a valid
 * address, a name, Django's password validators) and made staff: it may open the task
 * dashboard at `/admin/tasks/` and `/metrics`.
 */
import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { EntityManager } from '@mikro-orm/sql';
import { makePassword, normalizeEmail } from './auth.ts';
import { forkEm } from './db.ts';
import { cleanRegistration } from './forms.ts';
import { User } from './models/index.ts';
import { settings, superuserFromEnvironment } from './settings.ts';

export const CREATESUPERUSER_USAGE = `usage: node src/manage.ts createsuperuser [--email ADDRESS] [--name NAME] [--noinput]
  Create a staff user, who may open the task dashboard (/admin/tasks/) and /metrics.
  On a terminal it asks for what --email and --name do not give, and for the password.
  --noinput  ask nothing: --email/--name or SUPERUSER_EMAIL/SUPERUSER_NAME, and the
             password from SUPERUSER_PASSWORD (never a flag: command lines are visible to all)`;

interface Account {
  email: string;
  name: string;
  password: string;
}

/** Every reason `account` cannot be created, by field (empty when it can). */
export async function superuserProblems(
  em: EntityManager,
  account: Account,
): Promise<Record<string, string>> {
  const form = cleanRegistration(account);
  const errors = form.ok ? {} : { ...form.errors };
  if (!errors.email && (await em.count(User, { email: normalizeEmail(account.email) })) > 0) {
    errors.email = 'That email address is already taken.';
  }
  return errors;
}

/** Create the staff user (already checked by {@link superuserProblems}). */
export async function createSuperuser(em: EntityManager, account: Account): Promise<User> {
  const user = em.create(User, {
    email: normalizeEmail(account.email.trim()),
    name: account.name.trim(),
    passwordHash: await makePassword(account.password),
    isStaff: true,
  });
  await em.flush();
  return user;
}

/**
 * The terminal's questions, one readline for the whole session, whose line iterator keeps
 * lines typed ahead. A password is read with the echo muted (Python's `getpass`, which Django
 * uses): readline has no hidden mode, so its output goes through a stream that drops what it
 * is given meanwhile. Ctrl-C or end of input cancels.
 */
class Terminal {
  #muted = false;
  #lines: Interface;
  #next: AsyncIterator<string>;

  constructor() {
    const output = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (!this.#muted) process.stdout.write(chunk);
        callback();
      },
    });
    this.#lines = createInterface({ input: process.stdin, output, terminal: true });
    this.#lines.on('SIGINT', () => this.#lines.close());
    this.#next = this.#lines[Symbol.asyncIterator]();
  }

  async #read(question: string): Promise<string> {
    this.#lines.setPrompt(question);
    this.#lines.prompt();
    const line = await this.#next.next();
    if (line.done) throw new Error('cancelled');
    return line.value;
  }

  async ask(question: string): Promise<string> {
    return (await this.#read(question)).trim();
  }

  async askHidden(question: string): Promise<string> {
    this.#lines.setPrompt(question);
    this.#lines.prompt();
    this.#muted = true;
    try {
      return await this.#read('');
    } finally {
      this.#muted = false;
      process.stdout.write('\n');
    }
  }

  close(): void {
    this.#lines.close();
  }
}

/** Ask on the terminal until each field is acceptable, as Django does. */
async function prompt(
  em: EntityManager,
  terminal: Terminal,
  given: Partial<Account>,
): Promise<Account> {
  let email = given.email ?? '';
  for (;;) {
    if (!email) email = await terminal.ask('Email address: ');
    const problem = (await superuserProblems(em, { email, name: 'x', password: '' })).email;
    if (!problem) break;
    console.error(`Error: ${problem}`);
    email = '';
  }
  let name = given.name ?? '';
  while (!name) {
    name = await terminal.ask('Name: ');
    if (!name) console.error('Error: This field cannot be blank.');
  }
  for (;;) {
    const password = await terminal.askHidden('Password: ');
    const again = await terminal.askHidden('Password (again): ');
    if (password !== again) {
      console.error("Error: Your passwords didn't match.");
      continue;
    }
    const problem = (await superuserProblems(em, { email, name, password })).password;
    if (!problem) return { email, name, password };
    console.error(`Error: ${problem}`);
  }
}

/** Run the command; resolve with the exit code. */
export async function runCreateSuperuser(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      noinput: { type: 'boolean', default: false },
      'no-input': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(CREATESUPERUSER_USAGE);
    return 0;
  }
  const fromEnvironment = superuserFromEnvironment();
  const given = {
    email: values.email ?? fromEnvironment.email,
    name: values.name ?? fromEnvironment.name,
    password: fromEnvironment.password,
  };
  const em = await forkEm(settings.DATABASE);
  let account: Account;
  if (values.noinput || values['no-input']) {
    const missing = [
      !given.email && '--email (or SUPERUSER_EMAIL)',
      !given.name && '--name (or SUPERUSER_NAME)',
      !given.password && 'SUPERUSER_PASSWORD',
    ].filter(Boolean);
    if (missing.length > 0) {
      console.error(`createsuperuser: --noinput needs ${missing.join(', ')}`);
      return 2;
    }
    account = given as Account;
    const errors = await superuserProblems(em, account);
    if (Object.keys(errors).length > 0) {
      for (const [field, message] of Object.entries(errors))
        console.error(`Error: ${field}: ${message}`);
      return 1;
    }
  } else {
    if (!process.stdin.isTTY) {
      console.error(
        'createsuperuser: standard input is not a terminal; to create a staff user from a script, pass --noinput with --email, --name and SUPERUSER_PASSWORD',
      );
      return 2;
    }
    const terminal = new Terminal();
    try {
      account = await prompt(em, terminal, given);
    } catch {
      console.error('\nOperation cancelled.');
      return 1;
    } finally {
      terminal.close();
    }
  }
  const user = await createSuperuser(em, account);
  console.log(
    `Superuser created successfully: ${user.email}. Log in, then open /admin/tasks/ (the task dashboard).`,
  );
  return 0;
}
