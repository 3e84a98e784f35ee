/**
 * The scripted walkthrough of `./dev demo --walkthrough`: the articles' two flows over HTTP,
 * with what happened and where the email and the PDF ended up.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface Options {
  url: string;
  emailFolder: string;
  mediaRoot: string;
  show: (path: string) => string;
}

class Session {
  readonly #url: string;
  readonly #cookies = new Map<string, string>();

  constructor(url: string) {
    this.#url = url;
  }

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      cookie: [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; '),
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const token = this.#cookies.get('csrftoken');
    if (method !== 'GET' && token) headers['x-csrftoken'] = token;
    const response = await fetch(this.#url + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const eq = pair.indexOf('=');
      this.#cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const type = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      body: type.startsWith('application/json') ? await response.json() : await response.text(),
    };
  }
}

function elapsed(since: number): string {
  const ms = performance.now() - since;
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

async function emailsTo(
  folder: string,
  address: string,
): Promise<{ file: string; subject: string; body: string }[]> {
  const found = [];
  for (const name of (await readdir(folder).catch(() => [])).sort()) {
    if (!name.endsWith('.eml')) continue;
    const source = await readFile(join(folder, name));
    // mailparser decodes encoded subjects and quoted-printable bodies.
    const { simpleParser } = await import('mailparser');
    const mail = await simpleParser(source);
    const to = Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : [];
    if (!to.some((group) => group.value.some((entry) => entry.address === address))) continue;
    const subject = mail.subject ?? '';
    const line =
      (mail.text ?? '').split(/\r?\n/).find((l) => l.trim() !== '' && !l.startsWith('Hi ')) ?? '';
    found.push({ file: join(folder, name), subject, body: line.trim() });
  }
  return found;
}

/** Run the walkthrough against the app at `url`; resolve with whether it all worked. */
export async function walkthrough({
  url,
  emailFolder,
  mediaRoot,
  show,
}: Options): Promise<boolean> {
  const step = (n: number, text: string) => console.log(`  ${n}/4 ${text}`);
  const fail = (text: string, detail: unknown) => {
    console.error(`  failed: ${text}: ${JSON.stringify(detail)}`);
    return false;
  };
  const session = new Session(url);
  const email = `walkthrough-${Date.now()}@example.com`;
  const password = 'a long demo password';
  console.log(`\nWalkthrough against ${url}\n`);

  await session.call('GET', '/csrf');
  let started = performance.now();
  const registered = await session.call('POST', '/register', {
    email,
    name: 'Demo User',
    password,
  });
  if (registered.status !== 202) return fail('register', registered);
  step(
    1,
    `POST /register ${email} -> ${registered.status} "${registered.body.message}" in ${elapsed(started)} (welcome email enqueued)`,
  );

  const loggedIn = await session.call('POST', '/login', { email, password });
  if (loggedIn.status !== 200) return fail('login', loggedIn);
  step(2, `POST /login -> ${loggedIn.status}, session cookie set`);

  started = performance.now();
  const created = await session.call('POST', '/reports', {
    title: 'Signups per weekday',
    data: [
      { label: 'Mon', value: 12 },
      { label: 'Tue', value: 19 },
      { label: 'Wed', value: 7 },
      { label: 'Thu', value: 23 },
      { label: 'Fri', value: 15 },
    ],
  });
  if (created.status !== 202) return fail('create report', created);
  const id = created.body.report_id as number;
  step(
    3,
    `POST /reports -> ${created.status} ${JSON.stringify(created.body)} in ${elapsed(started)}`,
  );

  process.stdout.write(`  4/4 GET /reports/${id} until it is done: `);
  let last = '';
  let report: { status: number; body: any };
  for (;;) {
    report = await session.call('GET', `/reports/${id}`);
    const status = String(report.body.status);
    process.stdout.write(status === last ? '.' : `${last ? ' ' : ''}${status}`);
    last = status;
    if (report.status !== 200 || status !== 'pending') break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  process.stdout.write(` (${elapsed(started)} after the request)\n`);
  if (report.body.status !== 'completed') return fail('report', report.body);

  // The notification emails are sent by tasks too; wait until all three are there.
  let emails = await emailsTo(emailFolder, email);
  while (emails.length < 3) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    emails = await emailsTo(emailFolder, email);
  }
  console.log('\n  Emails (.eml files, open them with any mail client):');
  for (const mail of emails) {
    console.log(`    ${show(mail.file)}\n      Subject: ${mail.subject} | ${mail.body}`);
  }
  console.log(`\n  PDF: ${show(join(mediaRoot, 'reports', `report_${id}.pdf`))}`);
  console.log(`       (logged in, the browser gets it from ${url}${report.body.download_url})\n`);
  console.log(
    '  These tasks, their attempts and errors: the task dashboard at /admin/tasks/ of ./dev demo,\n' +
      '  for staff: ./dev demo --createsuperuser makes you one, then log in with that account.\n',
  );
  return true;
}
