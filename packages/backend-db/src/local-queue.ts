/**
 * A worker's claimed tasks that have not started yet (`prefetch`), kept in claim order, and
 * put back to READY, unstarted, when the worker stops.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { getTaskLogger } from '@djtasks/tasks/backend';
import { compareClaimOrder, type ClaimedRow } from './sql/claim.ts';

export class LocalQueue {
  #rows: ClaimedRow[] = [];

  get length(): number {
    return this.#rows.length;
  }

  /** Add claimed rows, keeping the queue in claim order (priority first). */
  add(rows: ClaimedRow[]): void {
    if (this.#rows.length === 0) {
      this.#rows = rows;
    } else {
      this.#rows.push(...rows);
      this.#rows.sort(compareClaimOrder);
    }
  }

  /** The next row to start. */
  take(): ClaimedRow | undefined {
    return this.#rows.shift();
  }

  /**
   * Empty the queue and put its rows back with `release` (retried with backoff; after five
   * failures their leases are left to expire). Resolves with the rows taken out and how many
   * were released.
   */
  async releaseAll(
    workerId: string,
    release: (rows: readonly ClaimedRow[]) => Promise<number>,
  ): Promise<{ rows: ClaimedRow[]; released: number }> {
    const rows = this.#rows;
    this.#rows = [];
    if (rows.length === 0) return { rows, released: 0 };
    let backoff = 100;
    for (let attempt = 1; ; attempt++) {
      try {
        return { rows, released: await release(rows) };
      } catch (error) {
        if (attempt === 5) {
          getTaskLogger().error(
            `worker ${workerId}: could not put ${rows.length} claimed, unstarted task(s) back (${(error as Error).message}); ` +
              `their leases will expire and recovery will record a lost attempt`,
          );
          return { rows, released: 0 };
        }
        await sleep(backoff);
        backoff *= 2;
      }
    }
  }
}
