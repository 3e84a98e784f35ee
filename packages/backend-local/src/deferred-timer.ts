import { DeferredQueue } from './queues.ts';

/** The longest delay `setTimeout` accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Tasks waiting for their `runAfter` (or a retry's backoff), with one timer set for the
 * earliest; nothing polls. When items come due they are handed to `onDue`, earliest first.
 */
export class DeferredTimer<T extends { due: number; seq: number }> {
  readonly #queue = new DeferredQueue<T>();
  readonly #onDue: (items: T[]) => void;
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Number.POSITIVE_INFINITY;

  constructor(onDue: (items: T[]) => void) {
    this.#onDue = onDue;
  }

  /** The number of waiting items. */
  get length(): number {
    return this.#queue.length;
  }

  /** Keep `item` until its `due` time. */
  push(item: T): void {
    this.#queue.push(item);
    this.#arm();
  }

  /** Forget `item` (a cancelled task); false if it is not here. */
  remove(item: T): boolean {
    const removed = this.#queue.remove(item);
    if (removed) this.#arm();
    return removed;
  }

  /** Stop the timer and return every waiting item. */
  drain(): T[] {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Number.POSITIVE_INFINITY;
    return this.#queue.drain();
  }

  #arm(): void {
    const next = this.#queue.nextDue;
    if (next === undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerDue = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.#timer !== undefined && this.#timerDue <= next) return;
    clearTimeout(this.#timer);
    this.#timerDue = next;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerDue = Number.POSITIVE_INFINITY;
        const due = this.#queue.takeDue(Date.now());
        this.#arm();
        if (due.length > 0) this.#onDue(due);
      },
      Math.min(Math.max(next - Date.now(), 0), MAX_TIMER_MS),
    );
  }
}
