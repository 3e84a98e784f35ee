/**
 * Every email the app sends, as it leaves the app: CRLF line endings throughout (headers
 * and bodies), a distinct subject per message, a plain-text part and an HTML part, each
 * parsed with mailparser.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import { EmailMessage, FileBasedEmailBackend, renderMessage } from '../src/email/index.ts';
import { accountExistsEmail, notificationEmail, welcomeEmail } from '../src/emails.ts';
import { REPORT_FAILED_MESSAGE } from '../src/tasks.ts';
import { temporaryFolder } from './support/processes.ts';

const folder = temporaryFolder('demo-emails-');
afterAll(() => folder.remove());

const SITE = 'https://demo.example';
const user = { name: 'Zoë <script>alert(1)</script>', email: 'zoe@example.com' };

const EMAILS = {
  welcome: welcomeEmail(user, SITE),
  accountExists: accountExistsEmail(user, SITE),
  generating: notificationEmail(
    user,
    'Your report "Q4" is being generated',
    'We are generating your report "Q4".',
    `${SITE}/reports/1`,
  ),
  ready: notificationEmail(
    user,
    'Your report "Q4" is ready',
    'Your report "Q4" is ready to download.',
    `${SITE}/reports/1/download`,
  ),
  failed: notificationEmail(
    user,
    'Your report "Q4" could not be generated',
    REPORT_FAILED_MESSAGE,
    `${SITE}/reports/1`,
  ),
};

function message(email: (typeof EMAILS)[keyof typeof EMAILS]): EmailMessage {
  return new EmailMessage({
    ...email,
    from: 'Notifications <noreply@example.com>',
    to: [user.email],
  });
}

describe('emails', () => {
  it('have a distinct subject each', () => {
    const subjects = Object.values(EMAILS).map((email) => email.subject);
    expect(new Set(subjects).size).toBe(subjects.length);
  });

  it.each(Object.entries(EMAILS))(
    '%s: CRLF throughout, text and HTML parts, escaped',
    async (_name, email) => {
      const source = await renderMessage(message(email));
      const raw = source.toString('utf8');
      expect(raw).toContain('\r\n');
      expect(raw).not.toMatch(/(?<!\r)\n/); // no bare LF
      expect(raw).not.toMatch(/\r(?!\n)/); // no bare CR
      expect(raw.split('\r\n').every((line) => line.length <= 998)).toBe(true);

      const parsed = await simpleParser(source);
      expect(parsed.subject).toBe(email.subject);
      expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
      expect(parsed.text).toContain('Hi Zoë <script>alert(1)</script>,');
      expect(parsed.html).toBeTruthy();
      const html = String(parsed.html);
      expect(html).toContain('Hi Zoë &lt;script&gt;alert(1)&lt;/script&gt;,');
      expect(html).not.toContain('<script>');
      expect(html).toMatch(/^<!doctype html>/i);
      // Every link of the HTML part is in the text part too, on SITE_URL.
      const links = [...html.matchAll(/href="([^"]+)"/g)].map((match) => match[1] ?? '');
      expect(links.length).toBeGreaterThan(0);
      for (const link of links) {
        expect(link.startsWith(SITE)).toBe(true);
        expect(parsed.text).toContain(link);
      }
    },
  );

  it('say where their button leads', () => {
    expect(EMAILS.ready.html).toContain('>Download the PDF</a>');
    expect(EMAILS.ready.text).toContain(`Download the PDF: ${SITE}/reports/1/download`);
    expect(EMAILS.generating.html).toContain('>See the report</a>');
  });

  it('are saved as .eml files with CRLF, one concise log line each', async () => {
    const lines: string[] = [];
    const backend = new FileBasedEmailBackend(folder.path, (line) => lines.push(line));
    await backend.sendMessages([message(EMAILS.welcome), message(EMAILS.ready)]);
    const files = readdirSync(folder.path).filter((name) => name.endsWith('.eml'));
    expect(files).toHaveLength(2);
    for (const file of files) {
      const source = readFileSync(join(folder.path, file));
      expect(source.toString()).not.toMatch(/(?<!\r)\n/);
      expect((await simpleParser(source)).text).toContain('Hi Zoë');
    }
    expect(lines).toEqual([
      expect.stringMatching(
        /^email to zoe@example\.com "Welcome to the djtasks demo" saved as .+\.eml$/,
      ),
      expect.stringMatching(
        /^email to zoe@example\.com "Your report "Q4" is ready" saved as .+\.eml$/,
      ),
    ]);
  });
});
