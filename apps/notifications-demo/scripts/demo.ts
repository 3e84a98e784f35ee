/**
 * `./dev demo`: run the notifications demo with nothing but Node: a SQLite file database in
 * `.data/demo/`, the web server, a task worker beside it (database backend), and email to
 * the console and to `.eml` files. `--walkthrough` drives the two flows over HTTP and exits.
 *
 *   node scripts/demo.ts [--walkthrough] [--port 8000] [--backend database|threadpool|immediate] [--reset]
 *   node scripts/demo.ts --createsuperuser   make a staff account in the demo's database, then exit
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { environmentWith, TASK_BACKENDS, type TaskBackendName } from '../src/settings.ts';
import { onShutdownSignal } from '../src/signals.ts';
import { APP_DIR, DATA_DIR, demoEnvironment } from '../src/demo-environment.ts';
import { walkthrough } from './walkthrough.ts';

/** The demo's default: the backend a real deployment would use, with its worker beside the web server. */
const DEFAULT_BACKEND: TaskBackendName = 'database';

const { values } = parseArgs({
  options: {
    walkthrough: { type: 'boolean', default: false },
    port: { type: 'string' },
    backend: { type: 'string', default: DEFAULT_BACKEND },
    reset: { type: 'boolean', default: false },
    createsuperuser: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: false,
});

if (values.help) {
  console.log(
    'usage: ./dev demo [--walkthrough] [--port N] [--backend database|threadpool|immediate] [--reset]\n' +
      '       ./dev demo --createsuperuser   (a staff account for the task dashboard, in the demo database)',
  );
  process.exit(0);
}
const backend = values.backend as TaskBackendName;
if (!TASK_BACKENDS.includes(backend)) {
  console.error(`--backend must be one of ${TASK_BACKENDS.join(', ')} (got '${values.backend}')`);
  process.exit(2);
}
// The walkthrough takes any free port so it never collides with a running demo.
const port = values.port ?? (values.walkthrough ? '0' : '8000');

if (values.reset) rmSync(DATA_DIR, { recursive: true, force: true });
mkdirSync(DATA_DIR, { recursive: true });

if (values.createsuperuser) {
  // Django's `manage.py createsuperuser`, on the demo's database (migrated first), on this terminal.
  const inDemo = {
    cwd: APP_DIR,
    env: environmentWith(demoEnvironment(backend)),
    stdio: 'inherit',
  } as const;
  for (const command of ['migrate', 'createsuperuser']) {
    const child = spawn(process.execPath, ['src/manage.ts', command], inDemo);
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) process.exit(code ?? 1);
  }
  process.exit(0);
}
/** Paths relative to where the command was run, which is shorter to read. */
const show = (path: string) => relative(process.cwd(), path) || '.';

// A port in use is the most common start-up failure: one line, before anything starts.
if (port !== '0') {
  const probe = createServer();
  const free = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(Number(port), '127.0.0.1', () => probe.close(() => resolve(true)));
  });
  if (!free) {
    console.error(`error: port ${port} is in use; run ./dev demo --port N with a free port`);
    process.exit(1);
  }
}

const mediaRoot = join(DATA_DIR, 'media');
const emailFolder = join(DATA_DIR, 'emails');
const env: Record<string, string> = {
  ...demoEnvironment(backend),
  HOST: '127.0.0.1',
  PORT: port,
  THREADPOOL_MAX_WORKERS: '2',
};

const children: ChildProcess[] = [];

/** Run a Node script of the app with the demo's environment, its output prefixed. */
function start(name: string, args: string[], quiet: boolean): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: APP_DIR,
    env: environmentWith(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches only this script, which stops each child once.
    detached: true,
  });
  children.push(child);
  const prefix = `${name.padEnd(8)}| `;
  let log = '';
  const forward = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
    log += chunk.toString();
    if (!quiet) stream.write(chunk.toString().replace(/^(?=.)/gm, prefix));
  };
  child.stdout?.on('data', forward(process.stdout));
  child.stderr?.on('data', forward(process.stderr));
  child.on('exit', (code, signal) => {
    if (!stopping && code !== 0) {
      // The child already said why in one line (unless quiet): no need to repeat it.
      console.error(`${name} exited with ${code ?? signal}${quiet ? `:\n${log}` : ''}`);
      void stopAll(1);
    }
  });
  (child as ChildProcess & { output?: () => string }).output = () => log;
  return child;
}

let stopping = false;
async function stopAll(code: number): Promise<never> {
  stopping = true;
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }),
  );
  process.exit(code);
}
onShutdownSignal(() => stopAll(0));

console.log(
  `djtasks notifications demo: tasks on the ${backend} backend, SQLite in ${show(DATA_DIR)}, email saved as .eml files in ${show(emailFolder)}`,
);

const migrate = start('migrate', ['src/manage.ts', 'migrate'], false);
const [migrated] = (await once(migrate, 'exit')) as [number | null];
if (migrated !== 0) await stopAll(1);

if (backend === 'database') start('worker', ['src/manage.ts', 'worker'], values.walkthrough);
const web = start('web', ['src/main.ts'], values.walkthrough);
const url = await new Promise<string>((resolve) => {
  const output = web as ChildProcess & { output?: () => string };
  const check = () => {
    const match = /listening on (http:\/\/\S+)/.exec(output.output?.() ?? '');
    if (match?.[1]) {
      web.stdout?.off('data', check);
      resolve(match[1]);
    }
  };
  web.stdout?.on('data', check);
});

if (values.walkthrough) {
  const ok = await walkthrough({
    url,
    emailFolder: emailFolder,
    mediaRoot: mediaRoot,
    show,
  });
  await stopAll(ok ? 0 : 1);
}

console.log(`
  Open ${url}/ in a browser.

  What to try:
    1. Sign up. The page answers at once; the welcome email is sent by a background task:
       a line below says so, and the message is saved in ${show(emailFolder)}/.
    2. Log in and ask for a report on the Reports page. You get an answer at once
       (202 {"status":"processing"}); the row goes from pending to completed by itself,
       then "Download PDF" appears. The file is ${show(mediaRoot)}/reports/report_<id>.pdf.
    3. The same from a terminal (JSON API, CSRF token in a cookie and a header):
         curl -c jar -b jar ${url}/csrf
         curl -c jar -b jar -H "X-CSRFToken: <token>" -H 'content-type: application/json' \\
              -d '{"email":"me@example.com","name":"Me","password":"long enough"}' ${url}/register
    4. The task dashboard, for staff: ${url}/admin/tasks/ (every task, its errors and
       tracebacks; retry, cancel, delete). Make yourself staff first, in another terminal:
         ./dev demo --createsuperuser
       then log in with that account (the header gets a "Tasks" link).${
         backend === 'database'
           ? ''
           : `\n       (On the ${backend} backend it only says it needs --backend database.)`
       }
    5. Metrics in Prometheus text, from this machine: curl ${url}/metrics
    6. Run it again with --backend immediate or --backend threadpool: same app, one setting.
    7. ./dev demo --walkthrough does steps 1 to 3 by itself and prints where things are.

  Ctrl-C stops everything. Data stays in ${show(DATA_DIR)}/ (--reset starts afresh).
`);
