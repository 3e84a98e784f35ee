import type { TaskResult } from '@djtasks/tasks';

/**
 * The results this backend knows, by id. Results that are READY or RUNNING are always
 * kept; of the finished ones, only the `maxResults` that finished last.
 */
export class ResultStore {
  readonly #results = new Map<string, TaskResult<any>>();
  /** Ids of finished results, in the order they finished (a Set keeps insertion order). */
  readonly #finished = new Set<string>();
  readonly #maxResults: number;

  constructor(maxResults: number) {
    this.#maxResults = maxResults;
  }

  /** The number of results kept. */
  get size(): number {
    return this.#results.size;
  }

  add(result: TaskResult<any>): void {
    this.#results.set(result.id, result);
  }

  get(id: string): TaskResult<any> | undefined {
    return this.#results.get(id);
  }

  /** Record that `id` has finished, and forget the oldest finished results beyond the limit. */
  finished(id: string): void {
    if (!this.#results.has(id)) return;
    this.#finished.add(id);
    while (this.#finished.size > this.#maxResults) {
      const oldest = this.#finished.values().next().value as string;
      this.#finished.delete(oldest);
      this.#results.delete(oldest);
    }
  }
}
