/** A real SMTP server (smtp-server + mailparser) standing in for MailHog in tests. */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface Inbox {
  port: number;
  messages: ParsedMail[];
  /** Resolve with the first message (already received or still to come) that matches. */
  waitFor(match: (message: ParsedMail) => boolean): Promise<ParsedMail>;
  /** Accept messages but do not answer the DATA command until `release()`: the sender waits. */
  hold(): void;
  release(): void;
  /** Answer every message with a permanent failure (`550 <message>`) until `accept()`. */
  refuse(message: string): void;
  accept(): void;
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<Inbox> {
  const messages: ParsedMail[] = [];
  const waiters: { match: (message: ParsedMail) => boolean; resolve: (m: ParsedMail) => void }[] =
    [];
  let gate: { promise: Promise<void>; open: () => void } | null = null;
  let refusal: string | null = null;

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      if (refusal !== null) {
        stream.resume();
        stream.on('end', () =>
          callback(Object.assign(new Error(refusal ?? ''), { responseCode: 550 })),
        );
        return;
      }
      simpleParser(stream)
        .then(async (message) => {
          if (gate) await gate.promise;
          messages.push(message);
          for (const waiter of [...waiters]) {
            if (waiter.match(message)) {
              waiters.splice(waiters.indexOf(waiter), 1);
              waiter.resolve(message);
            }
          }
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  if (typeof address !== 'object' || !address) throw new Error('SMTP server has no address');

  return {
    port: address.port,
    messages,
    waitFor(match) {
      const found = messages.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    hold() {
      let open!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate = { promise, open };
    },
    release() {
      gate?.open();
      gate = null;
    },
    refuse(message) {
      refusal = message;
    },
    accept() {
      refusal = null;
    },
    close() {
      gate?.open();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The recipients of a parsed message, as plain addresses. */
export function recipients(message: ParsedMail): string[] {
  const to = Array.isArray(message.to) ? message.to : message.to ? [message.to] : [];
  return to.flatMap((group) => group.value.map((address) => address.address ?? ''));
}
