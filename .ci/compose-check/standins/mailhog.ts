/**
 * MailHog stand-in: SMTP on 1025 (smtp-server, the library the repository's tests use),
 * received messages over HTTP on 8025 in MailHog's JSON shapes:
 *   GET    /api/v2/messages?start=0&limit=50   {total, count, start, items: [message]}
 *   GET    /api/v2/search?kind=from|to|containing&query=...   same shape
 *   GET    /api/v1/messages                    [message]
 *   DELETE /api/v1/messages                    delete all
 * message = {ID, From: {Mailbox, Domain}, To: [...], Content: {Headers, Body, Size}, Created, Raw}.
 * Not MailHog: POST /standin/hold and /standin/release make SMTP hold its answer to DATA
 * until released, so a test can keep an email task running; a message whose connection
 * closes while held is dropped, as an SMTP server does with an unfinished transaction.
 */
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { SMTPServer } from 'smtp-server';

interface Path {
  Relays: null;
  Mailbox: string;
  Domain: string;
  Params: string;
}
interface Message {
  ID: string;
  From: Path;
  To: Path[];
  Content: { Headers: Record<string, string[]>; Body: string; Size: number; MIME: null };
  Created: string;
  MIME: null;
  Raw: { From: string; To: string[]; Data: string; Helo: string };
}

const messages: Message[] = [];
let held: Array<() => void> | undefined;
const closed = new Set<string>();

function path(address: string): Path {
  const at = address.lastIndexOf('@');
  return { Relays: null, Mailbox: address.slice(0, at), Domain: address.slice(at + 1), Params: '' };
}

function headers(data: string): Record<string, string[]> {
  const head = data.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const result: Record<string, string[]> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    (result[name] ??= []).push(line.slice(colon + 1).trim());
  }
  return result;
}

const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  size: 20 * 1024 * 1024,
  onClose(session) {
    closed.add(session.id);
  },
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const store = () => {
        if (closed.has(session.id)) {
          console.log(`dropped a held message: its connection closed (${session.id})`);
          return;
        }
        const data = Buffer.concat(chunks).toString('utf8');
        const envelope = session.envelope;
        const from = envelope.mailFrom ? envelope.mailFrom.address : '';
        const to = envelope.rcptTo.map((r) => r.address);
        messages.unshift({
          ID: `${randomUUID()}@mailhog.example`,
          From: path(from),
          To: to.map(path),
          Content: {
            Headers: headers(data),
            Body: data
              .split(/\r?\n\r?\n/)
              .slice(1)
              .join('\r\n\r\n'),
            Size: data.length,
            MIME: null,
          },
          Created: new Date().toISOString(),
          MIME: null,
          Raw: { From: from, To: to, Data: data, Helo: session.hostNameAppearsAs },
        });
        console.log(`received from ${from} to ${to.join(', ')}`);
        callback();
      };
      if (held) held.push(store);
      else store();
    });
  },
});

function page(items: Message[], url: URL) {
  const start = Number(url.searchParams.get('start') ?? 0);
  const limit = Number(url.searchParams.get('limit') ?? 50);
  const slice = items.slice(start, start + limit);
  return { total: items.length, count: slice.length, start, items: slice };
}

function search(url: URL): Message[] {
  const kind = url.searchParams.get('kind');
  const query = (url.searchParams.get('query') ?? '').toLowerCase();
  return messages.filter((m) => {
    if (kind === 'from') return m.Raw.From.toLowerCase().includes(query);
    if (kind === 'to') return m.Raw.To.some((t) => t.toLowerCase().includes(query));
    return m.Raw.Data.toLowerCase().includes(query);
  });
}

const http = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://mailhog');
  const json = (status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  if (request.method === 'GET' && url.pathname === '/api/v2/messages')
    return json(200, page(messages, url));
  if (request.method === 'GET' && url.pathname === '/api/v2/search')
    return json(200, page(search(url), url));
  if (request.method === 'GET' && url.pathname === '/api/v1/messages') return json(200, messages);
  if (request.method === 'DELETE' && url.pathname === '/api/v1/messages') {
    messages.length = 0;
    return json(200, {});
  }
  if (request.method === 'POST' && url.pathname === '/standin/hold') {
    held ??= [];
    return json(200, { held: true });
  }
  if (request.method === 'POST' && url.pathname === '/standin/release') {
    const waiting = held ?? [];
    held = undefined;
    for (const store of waiting) store();
    return json(200, { released: waiting.length });
  }
  if (request.method === 'GET' && url.pathname === '/') {
    response.writeHead(200, { 'content-type': 'text/plain' });
    return response.end(`MailHog stand-in: ${messages.length} message(s); see /api/v2/messages\n`);
  }
  json(404, { error: 'not found' });
});

smtp.listen(1025, '0.0.0.0', () => console.log('[SMTP] Binding to address: 0.0.0.0:1025'));
http.listen(8025, '0.0.0.0', () => console.log('[HTTP] Binding to address: 0.0.0.0:8025'));
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    smtp.close(() => http.close(() => process.exit(0)));
  });
}
