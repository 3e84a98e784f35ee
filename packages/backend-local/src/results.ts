import { FifoQueue } from './queues.ts';

/**
 * The tasks this backend knows (each holds its result in its latest state), by id. Those
 * that are READY or RUNNING are always kept; of the finished ones, only the `maxResults` that
 * finished last.
 */
export class ResultStore<T extends { readonly id: string }> {
  readonly #results = new Map<string, T>();
  /** Ids of finished results, in the order they finished. */
  readonly #finished = new FifoQueue<string>();
  readonly #maxResults: number;

  constructor(maxResults: number) {
    this.#maxResults = maxResults;
  }

  /** The number of results kept. */
  get size(): number {
    return this.#results.size;
  }

  add(entry: T): void {
    this.#results.set(entry.id, entry);
  }

  get(id: string): T | undefined {
    return this.#results.get(id);
  }

  /**
   * Record that `id` (a kept result) has finished, and forget the oldest finished results
   * beyond the limit. A result finishes once, so it is never evicted before this call.
   */
  finished(id: string): void {
    this.#finished.push(id);
    while (this.#finished.length > this.#maxResults) {
      this.#results.delete(this.#finished.shift()!);
    }
  }
}
