import { Worker as Thread } from 'node:worker_threads';
import { getTaskLogger } from '@djtasks/tasks/backend';
import type { HeartbeatData, Held } from './heartbeat-thread.ts';

export type { Held } from './heartbeat-thread.ts';

const threadUrl = new URL(
  import.meta.url.endsWith('.ts') ? './heartbeat-thread.ts' : './heartbeat-thread.js',
  import.meta.url,
);

/** What the heartbeat tells the worker. */
export interface HeartbeatEvents {
  /** Attempts whose row no longer holds their claim token (taken back while this worker was frozen or cut off). */
  onLost?: (lost: Held[]) => void;
  /** Running attempts whose cancellation was asked for (`cancel()` from any process). */
  onCancel?: (held: Held[]) => void;
}

/**
 * Renews a worker's leases from a separate thread. A task that blocks the event loop of the
 * worker cannot stop it; only the death of the process does, and then the leases run out.
 */
export class Heartbeat {
  readonly #thread: Thread;
  #exited: Promise<void>;
  #lastError: string | undefined;
  /** Tokens to release, sent in one message once the current burst of outcomes is handled. */
  #releasing: string[] = [];
  #progressAt = 0;

  /** Start the thread; `events` hears of lost attempts and of cancellations. */
  constructor(data: HeartbeatData, events: HeartbeatEvents = {}) {
    this.#thread = new Thread(threadUrl, { workerData: data });
    this.#thread.on('message', (message: { type: string; message?: string; held?: Held[] }) => {
      if (message.type === 'lost') {
        events.onLost?.(message.held!);
      } else if (message.type === 'cancel') {
        events.onCancel?.(message.held!);
      } else if (message.type === 'error' && message.message !== this.#lastError) {
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

  /** Renew the leases of the `held` attempts (claimed by this worker) until they are released. */
  hold(held: Held[]): void {
    this.#thread.postMessage({ type: 'hold', held });
  }

  /** Report that the worker made progress now (claimed, or stored outcomes); shown by `status`. */
  progress(): void {
    const now = Date.now();
    if (now - this.#progressAt < 100) return;
    this.#progressAt = now;
    this.#thread.postMessage({ type: 'progress', at: now });
  }

  /** Stop renewing the leases of the attempts holding `tokens` (outcome stored, or claim undone). */
  release(tokens: readonly string[]): void {
    if (this.#releasing.length === 0) setImmediate(() => this.#flushReleases());
    this.#releasing.push(...tokens);
  }

  #flushReleases(): void {
    if (this.#releasing.length === 0) return;
    this.#thread.postMessage({ type: 'release', tokens: this.#releasing });
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
