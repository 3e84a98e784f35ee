/**
 * The production tree the Docker image runs, built the way its Dockerfile builds it
 * (deploy/build-production.sh: compile the workspace packages, `pnpm deploy --prod`, apply
 * their publishConfig), then started as the containers start it: `node src/manage.ts migrate`,
 * `node src/main.ts` and `node src/manage.ts worker`, from that folder, on PostgreSQL.
 * Catches, without Docker, a runtime tree that misses a package (ERR_MODULE_NOT_FOUND, as
 * when a production install did not link the backends' peer @djtasks/tasks), that points a
 * package at sources it does not ship, or that depends on files outside itself.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { pdfText } from './support/pdf-text.ts';
import { createPostgresDatabase } from './support/postgres.ts';
import { APP_DIR, temporaryFolder } from './support/processes.ts';
import { recipients, startSmtpServer, type Inbox } from './support/smtp.ts';

const run = promisify(execFile);
/** The worker's stop_grace_period in docker-compose.yml. */
const STOP_GRACE_MS = 30_000;

interface Started {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Start `node ARGS` in the production tree with only the variables a container gets. */
function start(cwd: string, args: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    output: () => output,
    // SIGTERM, as `docker stop` sends; past the compose file's 30 s grace period it would be
    // SIGKILLed, so do that and say so rather than hang.
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'killed'>((resolveGrace) => {
        timer = setTimeout(() => resolveGrace('killed'), STOP_GRACE_MS);
      });
      const outcome = await Promise.race([exited, graceOver]);
      clearTimeout(timer);
      if (outcome === 'killed') {
        child.kill('SIGKILL');
        await exited;
        throw new Error(
          `node ${args.join(' ')} did not exit within ${STOP_GRACE_MS / 1000} s of SIGTERM:\n${output}`,
        );
      }
    },
  };
}

/** Resolve when `started` prints a line matching `pattern`; reject if it exits first. */
function printed(started: Started, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolvePrinted, reject) => {
    const check = () => {
      const match = pattern.exec(started.output());
      if (match) {
        started.child.stdout?.off('data', check);
        started.child.off('exit', exited);
        resolvePrinted(match);
      }
    };
    const exited = (code: number | null) =>
      reject(new Error(`exited with ${code} before printing ${pattern}:\n${started.output()}`));
    started.child.stdout?.on('data', check);
    started.child.once('exit', exited);
    check();
  });
}

/** Every symbolic link under `folder` whose target lies outside it. */
function linksLeaving(folder: string): string[] {
  const leaving: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) {
        const target = resolve(dirname(path), readlinkSync(path));
        if (relative(folder, target).startsWith('..')) leaving.push(`${path} -> ${target}`);
      } else if (stat.isDirectory()) walk(path);
    }
  };
  walk(folder);
  return leaving;
}

describe('the production tree (what the Docker image runs)', () => {
  let folder: ReturnType<typeof temporaryFolder>;
  let out: string;
  let inbox: Inbox;
  let database: { url: string; drop(): Promise<void> } | undefined;
  let env: Record<string, string>;
  const running: Started[] = [];

  beforeAll(async () => {
    folder = temporaryFolder('demo-production-');
    out = join(folder.path, 'out');
    await run(join(APP_DIR, 'deploy', 'build-production.sh'), [out], {
      cwd: APP_DIR,
      maxBuffer: 16 * 1024 * 1024,
    });
    inbox = await startSmtpServer();
    database = await createPostgresDatabase();
    env = {
      NODE_ENV: 'production',
      SECRET_KEY: 'production-tree-test-secret-key-0123456789',
      TASK_BACKEND: 'database',
      DATABASE_URL: database.url,
      EMAIL_BACKEND: 'smtp',
      EMAIL_HOST: '127.0.0.1',
      EMAIL_PORT: String(inbox.port),
      MEDIA_ROOT: join(folder.path, 'media'),
      HOST: '127.0.0.1',
      PORT: '0',
      // What production requires besides: where links in emails point, the hosts it answers for.
      SITE_URL: 'http://127.0.0.1:8000',
      ALLOWED_HOSTS: '127.0.0.1,localhost',
      // Tracing on, to the console: the SDK and the fastify instrumentation load from the tree.
      OTEL_TRACES_EXPORTER: 'console',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    };
  });

  afterAll(async () => {
    const stopped = await Promise.allSettled(running.map((started) => started.stop()));
    await inbox?.close();
    await database?.drop();
    folder?.remove();
    for (const outcome of stopped) if (outcome.status === 'rejected') throw outcome.reason;
  });

  it('holds the workspace packages as compiled JavaScript, and nothing outside itself', () => {
    for (const name of ['tasks', 'backend-local', 'backend-db', 'dashboard', 'opentelemetry']) {
      const pkg = join(out, 'node_modules', '@djtasks', name);
      const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as {
        exports: Record<string, { default: string }>;
      };
      const entry = manifest.exports['.']?.default ?? '';
      expect(entry, name).toMatch(/^\.\/dist\/.+\.js$/);
      expect(existsSync(join(pkg, entry)), `${name}: ${entry}`).toBe(true);
      expect(existsSync(join(pkg, 'src')), `${name} ships no TypeScript sources`).toBe(false);
      // Copied in, not linked to the workspace.
      expect(realpathSync(pkg).startsWith(realpathSync(out))).toBe(true);
    }
    expect(existsSync(join(out, 'node_modules', 'vitest'))).toBe(false);
    expect(linksLeaving(out)).toEqual([]);
  });

  it('migrates, serves and runs tasks: signup email and a PDF report', async () => {
    const migrate = start(out, ['src/manage.ts', 'migrate'], env);
    running.push(migrate);
    const [code] = (await once(migrate.child, 'exit')) as [number | null];
    expect(code, migrate.output()).toBe(0);
    expect(migrate.output()).toMatch(/Applied .*\(postgresql\)/);

    const web = start(out, ['src/main.ts'], env);
    running.push(web);
    const worker = start(out, ['src/manage.ts', 'worker'], env);
    running.push(worker);
    const [, url = ''] = await printed(web, /listening on (http:\/\/\S+)/);
    await printed(worker, /worker \S+ running tasks from postgresql/);

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);

    const client = new Client(url);
    const email = 'grace@example.com';
    await client.signUpAndLogIn({
      email,
      name: 'Grace Hopper',
      password: 'a long enough password',
    });
    const welcome = await inbox.waitFor((m) => recipients(m).includes(email));
    expect(welcome.subject).toMatch(/welcome/i);

    const title = 'Production tree report';
    const created = await client.post('/reports', {
      title,
      data: [
        { label: 'Mon', value: 3 },
        { label: 'Tue', value: 5 },
      ],
    });
    expect(created.status, created.text).toBe(202);
    const done = await client.waitForReport(created.body.report_id as number);
    expect(done.body.status, JSON.stringify(done.body)).toBe('completed');
    const pdf = await client.bytes(done.body.download_url as string);
    expect(pdf.status).toBe(200);
    expect(await pdfText(pdf.data)).toContain(title);

    // A staff user (createsuperuser from the tree) sees the task in the dashboard (its
    // templates and stylesheet are in the tree); /metrics answers this machine.
    const superuser = start(out, ['src/manage.ts', 'createsuperuser', '--noinput'], {
      ...env,
      SUPERUSER_EMAIL: 'ops@example.com',
      SUPERUSER_NAME: 'Ops',
      SUPERUSER_PASSWORD: 'production-staff-password-1',
    });
    const [superuserExit] = (await once(superuser.child, 'exit')) as [number | null];
    expect(superuserExit, superuser.output()).toBe(0);
    const staff = new Client(url);
    await staff.get('/csrf');
    const login = await staff.post('/login', {
      email: 'ops@example.com',
      password: 'production-staff-password-1',
    });
    expect(login.status, login.text).toBe(200);
    const list = await staff.get('/admin/tasks/tasks?status=SUCCESSFUL', { accept: 'text/html' });
    expect(list.status, list.text).toBe(200);
    expect(list.text).toContain('notifications.generateReport');
    expect((await staff.get('/admin/tasks/static/dashboard.css')).status).toBe(200);
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('djtasks_tasks_enqueued_total');
    // The console exporter printed the worker's consumer span.
    await printed(worker, /process notifications\.generateReport/);
    expect(web.output() + worker.output()).not.toMatch(/ERR_MODULE_NOT_FOUND|ERR_UNSUPPORTED/);
  });
});
