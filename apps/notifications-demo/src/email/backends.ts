/**
 * Email backends, as in Django's `django.core.mail.backends`: each takes composed messages
 * and delivers them somewhere. `settings.EMAIL_BACKEND` picks one or more.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { EmailMessage } from './message.ts';

/** Something that delivers email messages. */
export interface EmailBackend {
  /** Deliver every message; resolve with how many were sent. */
  sendMessages(messages: readonly EmailMessage[]): Promise<number>;
  /** Release connections. */
  close(): Promise<void>;
}

/**
 * Build the MIME source (RFC 5322, text and HTML parts) of a message, with a fresh
 * Message-ID and CRLF line endings throughout, headers and bodies alike (RFC 5322 §2.1).
 */
export async function renderMessage(message: EmailMessage): Promise<Buffer> {
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
  });
  const info = await transport.sendMail(message.toNodemailer());
  return info.message as Buffer;
}

/** Send through an SMTP server (MailHog in docker compose, any relay in production). */
export class SmtpEmailBackend implements EmailBackend {
  readonly #transport: Transporter;

  constructor(options: {
    host: string;
    port: number;
    user: string;
    password: string;
    useTls: boolean;
  }) {
    this.#transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: false,
      requireTLS: options.useTls,
      ignoreTLS: !options.useTls,
      auth: options.user ? { user: options.user, pass: options.password } : undefined,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async sendMessages(messages: readonly EmailMessage[]): Promise<number> {
    for (const message of messages) await this.#transport.sendMail(message.toNodemailer());
    return messages.length;
  }

  close(): Promise<void> {
    this.#transport.close();
    return Promise.resolve();
  }
}

/** Write each message's full source to a stream (standard output by default), for development. */
export class ConsoleEmailBackend implements EmailBackend {
  readonly #write: (text: string) => void;

  constructor(write: (text: string) => void = (text) => process.stdout.write(text)) {
    this.#write = write;
  }

  async sendMessages(messages: readonly EmailMessage[]): Promise<number> {
    for (const message of messages) {
      const source = (await renderMessage(message)).toString('utf8');
      this.#write(`${source}\n${'-'.repeat(79)}\n`);
    }
    return messages.length;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Save each message as an `.eml` file in a folder, which any mail client opens; `log`, when
 * given, gets one line per message (who, which subject, which file).
 */
export class FileBasedEmailBackend implements EmailBackend {
  readonly folder: string;
  readonly #log: ((line: string) => void) | undefined;

  constructor(folder: string, log?: (line: string) => void) {
    this.folder = folder;
    this.#log = log;
  }

  async sendMessages(messages: readonly EmailMessage[]): Promise<number> {
    await mkdir(this.folder, { recursive: true });
    for (const message of messages) {
      const source = await renderMessage(message);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const name = `${stamp}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.eml`;
      await writeFile(join(this.folder, name), source);
      this.#log?.(
        `email to ${message.to.join(', ')} "${message.subject}" saved as ${join(this.folder, name)}`,
      );
    }
    return messages.length;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Keep messages in memory (`LocmemEmailBackend.outbox`), for tests in one process. */
export class LocmemEmailBackend implements EmailBackend {
  /** Every message sent in this process, oldest first (Django's `mail.outbox`). */
  static readonly outbox: EmailMessage[] = [];

  sendMessages(messages: readonly EmailMessage[]): Promise<number> {
    LocmemEmailBackend.outbox.push(...messages);
    return Promise.resolve(messages.length);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
