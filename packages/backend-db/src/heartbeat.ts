import { Worker as Thread } from 'node:worker_threads';
import { getTaskLogger } from '@djtasks/tasks/backend';
import type { HeartbeatData } from './heartbeat-thread.ts';

const threadUrl = new URL(
  import.meta.url.endsWith('.ts') ? './heartbeat-thread.ts' : './heartbeat-thread.js',
  import.meta.url,
);

/**
 * Renews a worker's leases from a separate thread. A task that blocks the event loop of the
 * worker cannot stop it; only the death of the process does, and then the leases run out.
 */
export class Heartbeat {
  readonly #thread: Thread;
  #exited: Promise<void>;
  #lastError: string | undefined;
  /** Ids to release, sent in one message once the current burst of outcomes is handled. */
  #releasing: string[] = [];

  constructor(data: HeartbeatData) {
    this.#thread = new Thread(threadUrl, { workerData: data });
    this.#thread.on('message', (message: { type: string; message?: string }) => {
      if (message.type === 'error' && message.message !== this.#lastError) {
        this.#lastError = message.message;
        getTaskLogger().warn(
          `worker ${data.workerId}: lease heartbeat failed (${message.message}); retrying`,
        );
      } else if (message.type === 'renewed' && this.#lastError !== undefined) {
        this.#lastError = undefined;
        getTaskLogger().info(`worker ${data.workerId}: lease heartbeat works again`);
      }
    });
    this.#thread.on('error', (error) => {
      getTaskLogger().error(`worker ${data.workerId}: lease heartbeat thread crashed`, error);
    });
    this.#exited = new Promise((resolve) => this.#thread.once('exit', () => resolve()));
  }

  /** Renew the leases of `ids` (tasks this worker now runs) until they are released. */
  hold(ids: string[]): void {
    this.#thread.postMessage({ type: 'hold', ids });
  }

  /** Stop renewing the leases of `ids` (their outcome is stored, or their claim undone). */
  release(ids: readonly string[]): void {
    if (this.#releasing.length === 0) setImmediate(() => this.#flushReleases());
    this.#releasing.push(...ids);
  }

  #flushReleases(): void {
    if (this.#releasing.length === 0) return;
    this.#thread.postMessage({ type: 'release', ids: this.#releasing });
    this.#releasing = [];
  }

  /** Stop renewing and close its connection. */
  async stop(): Promise<void> {
    this.#flushReleases();
    this.#thread.postMessage({ type: 'stop' });
    const timer = setTimeout(() => void this.#thread.terminate(), 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}
