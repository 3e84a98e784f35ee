/**
 * `./dev demo`: run the notifications demo with nothing but Node: a SQLite file database in
 * `.data/demo/`, the web server, a task worker beside it (database backend), and email to
 * the console and to `.eml` files. `--walkthrough` drives the two flows over HTTP and exits.
 *
 *   node scripts/demo.ts [--walkthrough] [--port 8000] [--backend database|threadpool|immediate] [--reset]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { environmentWith, TASK_BACKENDS, type TaskBackendName } from '../src/settings.ts';
import { walkthrough } from './walkthrough.ts';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const DATA_DIR = join(APP_DIR, '.data', 'demo');
/** The demo's default: the backend a real deployment would use, with its worker beside the web server. */
const DEFAULT_BACKEND: TaskBackendName = 'database';

const { values } = parseArgs({
  options: {
    walkthrough: { type: 'boolean', default: false },
    port: { type: 'string' },
    backend: { type: 'string', default: DEFAULT_BACKEND },
    reset: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: false,
});

if (values.help) {
  console.log(
    'usage: ./dev demo [--walkthrough] [--port N] [--backend database|threadpool|immediate] [--reset]',
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
const show = (path: string) => path;

const mediaRoot = join(DATA_DIR, 'media');
const emailFolder = join(DATA_DIR, 'emails');
const emailBackend = values.walkthrough ? 'filebased' : 'console,filebased';
const env: Record<string, string> = {
  TASK_BACKEND: backend,
  DATABASE_URL: `sqlite:${join(DATA_DIR, 'db.sqlite3')}`,
  MEDIA_ROOT: mediaRoot,
  EMAIL_BACKEND: emailBackend,
  EMAIL_FILE_PATH: emailFolder,
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
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

console.log(
  `djtasks notifications demo: tasks on the ${backend} backend, SQLite in ${show(DATA_DIR)}, email to ${values.walkthrough ? '.eml files' : 'the console and .eml files'}`,
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
    1. Sign up. The page answers at once ("Registration complete!"); the welcome email is
       sent by a background task: it is printed below and saved in ${show(emailFolder)}/.
    2. Log in and ask for a report on the Reports page. You get an answer at once
       (202 {"status":"processing"}); the row goes from pending to completed by itself,
       then "Download PDF" appears. The file is ${show(mediaRoot)}/reports/report_<id>.pdf.
    3. The same from a terminal (JSON API, CSRF token in a cookie and a header):
         curl -c jar -b jar ${url}/csrf
         curl -c jar -b jar -H "X-CSRFToken: <token>" -H 'content-type: application/json' \\
              -d '{"email":"me@example.com","name":"Me","password":"long enough"}' ${url}/register
    4. Run it again with --backend immediate or --backend threadpool: same app, one setting.
    5. ./dev demo --walkthrough does all of the above by itself and prints where things are.

  Ctrl-C stops everything. Data stays in ${show(DATA_DIR)}/ (--reset starts afresh).
`);
