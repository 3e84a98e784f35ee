import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { getTaskLogger } from '@djtasks/tasks/backend';
import { READY_CHANNEL } from './migrations.ts';

/** `end()` of a client whose connection the server already cut may never settle: wait 1 s at most. */
export function endClient(client: pg.Client): Promise<void> {
  return Promise.race([client.end().catch(() => {}), sleep(1000)]).then(() => undefined);
}

/**
 * A dedicated PostgreSQL connection that LISTENs for new tasks and calls `onNotify`,
 * reconnecting with backoff when the connection drops (calling `onNotify` after each
 * reconnect, since notifications may have been missed meanwhile).
 */
export class ReadyListener {
  readonly #config: pg.ClientConfig;
  readonly #onNotify: () => void;
  #client: pg.Client | undefined;
  #stopped = false;
  readonly #stopSignal = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(config: pg.ClientConfig, onNotify: () => void) {
    this.#config = config;
    this.#onNotify = onNotify;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    let backoff = 100;
    let first = true;
    while (!this.#stopped) {
      const client = new pg.Client({
        ...this.#config,
        application_name: 'djtasks listen',
        connectionTimeoutMillis: 10_000,
      });
      const ended = new Promise<void>((resolve) => {
        client.once('end', resolve);
        client.on('error', () => resolve());
      });
      try {
        await client.connect();
        this.#client = client;
        if (this.#stopped) {
          await endClient(client);
          break;
        }
        client.on('notification', () => this.#onNotify());
        await client.query(`listen ${READY_CHANNEL}`);
        if (!first) {
          getTaskLogger().info('LISTEN connection restored');
          this.#onNotify();
        }
        first = false;
        backoff = 100;
        await ended;
      } catch (error) {
        if (!this.#stopped) {
          getTaskLogger().warn(
            `LISTEN connection failed (${(error as Error).message}); polling until it is back`,
          );
        }
      }
      this.#client = undefined;
      await endClient(client);
      if (this.#stopped) break;
      await sleep(backoff, undefined, { signal: this.#stopSignal.signal }).catch(() => {});
      backoff = Math.min(backoff * 2, 30_000);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopSignal.abort();
    if (this.#client) await endClient(this.#client);
    await this.#loop;
  }
}
