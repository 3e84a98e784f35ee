/**
 * The compose check's flows, run by run.sh against `docker compose` (COMPOSE_FILE and
 * COMPOSE_PROJECT_NAME set by run.sh): up; wait for health; register over HTTP and receive
 * the welcome email in MailHog; create a report, download its PDF and check its text; scale
 * to two workers; kill the worker container running a slow task and see the other finish
 * it; down -v. Prints what it did and how long each step took.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from '../../apps/notifications-demo/test/support/client.ts';
import { pdfText } from '../../apps/notifications-demo/test/support/pdf-text.ts';

const exec = promisify(execFile);
const WEB = `http://127.0.0.1:${process.env['WEB_PORT'] ?? '8000'}`;
const MAILHOG = `http://127.0.0.1:${process.env['MAILHOG_UI_PORT'] ?? '8025'}`;
const started = Date.now();

class CheckFailed extends Error {}

function fail(message: string): never {
  throw new CheckFailed(message);
}

function step(message: string): void {
  console.log(`compose-check: [${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
}

async function compose(...args: string[]): Promise<string> {
  try {
    const { stdout } = await exec('docker', ['compose', ...args], { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stderr = '', stdout = '' } = error as { stderr?: string; stdout?: string };
    fail(`docker compose ${args.join(' ')} failed:\n${stdout}${stderr}`);
  }
}

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Poll `probe` until it returns a value (not undefined), or fail after `seconds`. */
async function waitFor<T>(
  what: string,
  seconds: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof CheckFailed) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      fail(
        `timed out after ${seconds} s waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

interface Container {
  ID: string;
  Name: string;
  Service: string;
  State: string;
  Health: string;
  ExitCode: number;
}

async function containers(): Promise<Container[]> {
  const out = await compose('ps', '--all', '--format', 'json');
  // Compose 2.21+ prints one JSON object per line; older ones a JSON array.
  const trimmed = out.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as Container[];
  return trimmed.split('\n').map((line) => JSON.parse(line) as Container);
}

async function sql(query: string): Promise<string> {
  return (
    await compose(
      'exec',
      '-T',
      'db',
      'psql',
      '-U',
      'demo',
      '-d',
      'demo',
      '-At',
      '-F',
      '|',
      '-c',
      query,
    )
  ).trim();
}

interface MailhogMessage {
  Content: { Headers: Record<string, string[]> };
  Raw: { To: string[]; Data: string };
}

async function mailTo(address: string): Promise<MailhogMessage | undefined> {
  const response = await fetch(
    `${MAILHOG}/api/v2/search?kind=to&query=${encodeURIComponent(address)}`,
  );
  if (!response.ok) return undefined;
  const body = (await response.json()) as { items: MailhogMessage[] };
  return body.items[0];
}

/** Worker id → container name, from the workers' start lines. */
async function workerContainers(): Promise<Map<string, string>> {
  const byWorker = new Map<string, string>();
  for (const container of (await containers()).filter((c) => c.Service === 'worker')) {
    const logs = await docker('logs', container.Name);
    for (const match of logs.matchAll(/worker (\S+) running tasks/g))
      byWorker.set(match[1] ?? '', container.Name);
  }
  return byWorker;
}

async function main(): Promise<void> {
  step('docker compose up -d (db, mailhog, migrate, web, worker)');
  await compose('up', '-d', '--no-build');
  const healthy = await waitFor(
    'db, mailhog, web and worker healthy, migrate exited 0',
    240,
    async () => {
      const all = await containers();
      const migrate = all.find((c) => c.Service === 'migrate');
      if (migrate && migrate.State === 'exited' && migrate.ExitCode !== 0) {
        fail(`migrate exited with ${migrate.ExitCode}:\n${await compose('logs', 'migrate')}`);
      }
      for (const c of all) {
        if (c.Service !== 'migrate' && (c.State === 'exited' || c.State === 'restarting')) {
          fail(`${c.Name} is ${c.State}:\n${await compose('logs', c.Service)}`);
        }
      }
      const ready = ['db', 'mailhog', 'web', 'worker'].every((s) =>
        all.some((c) => c.Service === s && c.State === 'running' && c.Health === 'healthy'),
      );
      return ready && migrate?.State === 'exited' ? all : undefined;
    },
  );
  step(`healthy: ${healthy.map((c) => `${c.Service}=${c.Health || c.State}`).join(' ')}`);

  const migrations = healthy.filter((c) => c.Service === 'migrate');
  if (migrations.length !== 1) fail(`expected one migrate container, found ${migrations.length}`);
  const migrateLog = await compose('logs', '--no-log-prefix', 'migrate');
  if (!/Applied .*\(postgresql\)/.test(migrateLog))
    fail(`migrate did not apply migrations:\n${migrateLog}`);
  for (const service of ['web', 'worker']) {
    const uid = (await compose('exec', '-T', service, 'id', '-u')).trim();
    if (uid === '0') fail(`${service} runs as root`);
    step(`${service} runs as uid ${uid}`);
  }

  // Signup: the web app enqueues, a worker sends the welcome email to MailHog over SMTP.
  const ada = new Client(WEB);
  const email = `ada-${Date.now()}@example.com`;
  await ada.signUpAndLogIn({ email, name: 'Ada Lovelace', password: 'correct horse battery' });
  step(`registered ${email} over HTTP`);
  const welcome = await waitFor('the welcome email in MailHog', 60, () => mailTo(email));
  const subject = welcome.Content.Headers['Subject']?.[0] ?? '';
  if (!/welcome/i.test(subject))
    fail(`the first email to ${email} is "${subject}", not the welcome email`);
  step(`MailHog received "${subject}" for ${email}`);

  // Report: 202 at once, the worker renders the PDF onto the media volume, web serves it.
  const title = 'Compose check report';
  const created = await ada.post('/reports', {
    title,
    data: [
      { label: 'January', value: 42 },
      { label: 'February', value: 17.5 },
    ],
  });
  if (created.status !== 202) fail(`POST /reports answered ${created.status}: ${created.text}`);
  const id = created.body.report_id as number;
  const done = await waitFor('the report to complete', 120, async () => {
    const status = await ada.get(`/reports/${id}`);
    return status.body.status === 'pending' ? undefined : status;
  });
  if (done.body.status !== 'completed') fail(`report ${id}: ${JSON.stringify(done.body)}`);
  const pdf = await ada.bytes(done.body.download_url as string);
  if (pdf.status !== 200 || pdf.data.subarray(0, 5).toString() !== '%PDF-') {
    fail(`download of report ${id}: ${pdf.status}, ${pdf.data.length} bytes`);
  }
  const text = await pdfText(pdf.data);
  for (const expected of [title, 'Ada Lovelace', 'January', 'February']) {
    if (!text.includes(expected)) fail(`the PDF's text lacks "${expected}":\n${text}`);
  }
  const saved = (await compose('exec', '-T', 'web', 'ls', '/data/media/reports')).split('\n');
  if (!saved.includes(`report_${id}.pdf`))
    fail(`report_${id}.pdf is not on the media volume: ${saved.join(' ')}`);
  step(
    `report ${id}: PDF of ${pdf.data.length} bytes rendered by a worker, served by web from the media volume, text checked`,
  );

  // Two workers.
  // Only the worker service: a plain `up` would start the one-off migrate container again.
  await compose('up', '-d', '--no-build', '--no-deps', '--scale', 'worker=2', 'worker');
  const workers = await waitFor('two workers running tasks', 120, async () => {
    const byWorker = await workerContainers();
    return new Set(byWorker.values()).size === 2 ? byWorker : undefined;
  });
  step(`scaled to two workers: ${[...new Set(workers.values())].join(', ')}`);
  const runs =
    (await compose('logs', '--no-log-prefix', 'migrate')).match(/Applied|No migrations/g) ?? [];
  if (runs.length !== 1) fail(`migrate ran ${runs.length} times by now, expected once`);
  step('migrations ran once (scaling did not run them again)');

  // A slow task: MailHog holds its answer, so the welcome email task of a new user stays running.
  await fetch(`${MAILHOG}/standin/hold`, { method: 'POST' });
  const grace = new Client(WEB);
  const graceEmail = `grace-${Date.now()}@example.com`;
  await grace.signUpAndLogIn({
    email: graceEmail,
    name: 'Grace Hopper',
    password: 'correct horse battery',
  });
  const [taskId = '', owner = ''] = (
    await waitFor('the welcome email task to be running on a worker', 60, async () => {
      const row = await sql(
        "select id, lease_owner from djtasks_task_result where status = 'RUNNING' and task_name like '%sendWelcomeEmail'",
      );
      return row === '' ? undefined : row;
    })
  ).split('|');
  const victim =
    workers.get(owner) ?? fail(`task ${taskId} is leased by ${owner}, not a known worker`);
  const survivor = [...workers].find(([, name]) => name !== victim) ?? fail('no second worker');
  step(
    `task ${taskId} (welcome email to ${graceEmail}) is running on ${victim}; killing that container`,
  );
  await docker('kill', victim);
  await fetch(`${MAILHOG}/standin/release`, { method: 'POST' });
  const finished = await waitFor(
    'the other worker to finish the task (lease expiry, then recovery)',
    180,
    async () => {
      const row = await sql(
        `select status, worker_ids from djtasks_task_result where id = '${taskId}'`,
      );
      return row.startsWith('SUCCESSFUL|') ? row : undefined;
    },
  );
  if (!finished.includes(survivor[0]))
    fail(`task ${taskId} finished, but not by ${survivor[1]}: ${finished}`);
  await waitFor(`the welcome email to ${graceEmail}`, 30, () => mailTo(graceEmail));
  const state = (await docker('inspect', '-f', '{{.State.Status}}', victim)).trim();
  step(
    `${survivor[1]} finished task ${taskId} (worker ids ${finished.split('|')[1]}), email delivered; ${victim} is ${state}`,
  );

  step('docker compose down -v');
  await compose('down', '-v', '--remove-orphans');
  const left = await docker(
    'volume',
    'ls',
    '-q',
    '--filter',
    `label=com.docker.compose.project=${process.env['COMPOSE_PROJECT_NAME']}`,
  );
  if (left.trim() !== '') fail(`volumes left after down -v: ${left}`);
  step('all checks passed');
}

main().catch((error: unknown) => {
  console.error(
    `compose-check: FAILED: ${error instanceof CheckFailed ? error.message : String((error as Error)?.stack ?? error)}`,
  );
  process.exitCode = 1;
});
