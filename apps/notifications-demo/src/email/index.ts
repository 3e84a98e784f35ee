/**
 * `sendMail`, Django's `django.core.mail.send_mail`: compose a message and hand it to the
 * backends `settings.EMAIL_BACKEND` names.
 */
import { settings, type EmailBackendName, type Settings } from '../settings.ts';
import {
  ConsoleEmailBackend,
  FileBasedEmailBackend,
  LocmemEmailBackend,
  SmtpEmailBackend,
  type EmailBackend,
} from './backends.ts';
import { EmailMessage } from './message.ts';

export {
  ConsoleEmailBackend,
  FileBasedEmailBackend,
  LocmemEmailBackend,
  renderMessage,
  SmtpEmailBackend,
  type EmailBackend,
} from './backends.ts';
export { EmailMessage } from './message.ts';

/** Create the backend called `name` from the settings. */
export function getConnection(name: EmailBackendName, config: Settings = settings): EmailBackend {
  switch (name) {
    case 'smtp':
      return new SmtpEmailBackend({
        host: config.EMAIL_HOST,
        port: config.EMAIL_PORT,
        user: config.EMAIL_HOST_USER,
        password: config.EMAIL_HOST_PASSWORD,
        useTls: config.EMAIL_USE_TLS,
      });
    case 'console':
      return new ConsoleEmailBackend();
    case 'filebased':
      return new FileBasedEmailBackend(config.EMAIL_FILE_PATH, (line) => console.log(line));
    case 'locmem':
      return new LocmemEmailBackend();
  }
}

/** Send one message with a text and an HTML part through every configured email backend. */
export async function sendMail(fields: {
  subject: string;
  text: string;
  html: string;
  to: readonly string[];
  from?: string;
}): Promise<number> {
  const message = new EmailMessage({ ...fields, from: fields.from ?? settings.DEFAULT_FROM_EMAIL });
  for (const name of settings.EMAIL_BACKEND) {
    const connection = getConnection(name);
    try {
      await connection.sendMessages([message]);
    } finally {
      await connection.close();
    }
  }
  return 1;
}
