/**
 * One demo app for a test file: a temporary folder, a real SMTP server, a migrated SQLite
 * database and the web server process, with `env` on top of the defaults; `stop()` ends all.
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { migrate, startApp, temporaryFolder, type RunningApp } from './processes.ts';
import { startSmtpServer, type Inbox } from './smtp.ts';

export interface Demo {
  app: RunningApp;
  inbox: Inbox;
  env: Record<string, string>;
  databaseFile: string;
  /** Run a read-only query on the app's database. */
  query(sql: string, ...params: string[]): Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startDemo(prefix: string, env: Record<string, string> = {}): Promise<Demo> {
  const folder = temporaryFolder(`demo-${prefix}-`);
  const inbox = await startSmtpServer();
  const databaseFile = join(folder.path, 'db.sqlite3');
  const fullEnv = {
    TASK_BACKEND: 'immediate',
    DATABASE_URL: `sqlite:${databaseFile}`,
    MEDIA_ROOT: join(folder.path, 'media'),
    EMAIL_BACKEND: 'smtp',
    EMAIL_PORT: String(inbox.port),
    ...env,
  };
  await migrate(fullEnv);
  const app = await startApp(fullEnv);
  return {
    app,
    inbox,
    env: fullEnv,
    databaseFile,
    query(sql, ...params) {
      const db = new DatabaseSync(databaseFile, { readOnly: true });
      try {
        return db.prepare(sql).all(...params);
      } finally {
        db.close();
      }
    },
    async stop() {
      await app.stop();
      await inbox.close();
      folder.remove();
    },
  };
}

/** A request with any Host header (fetch does not let a test choose it). */
export function rawRequest(
  url: string,
  options: { method?: string; path: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
