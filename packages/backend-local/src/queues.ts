/** A first-in, first-out queue that does not copy the array on every `shift`. */
export class FifoQueue<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** Put `item` back at the front. */
  unshift(item: T): void {
    if (this.#head > 0) this.#items[--this.#head] = item;
    else this.#items.unshift(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Remove `item` wherever it is (a linear scan: for rare removals such as a cancel). */
  remove(item: T): boolean {
    const index = this.#items.indexOf(item, this.#head);
    if (index === -1) return false;
    this.#items.splice(index, 1);
    return true;
  }

  /** Remove and return every item, in order. */
  drain(): T[] {
    const items = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return items;
  }
}

/** Tasks ready to run: higher priority first, first in first out within a priority. */
export class ReadyQueue<T extends { priority: number }> {
  /** One queue per priority that has items. */
  readonly #byPriority = new Map<number, FifoQueue<T>>();
  /** The priorities in `#byPriority`, highest first. */
  #priorities: number[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  #queue(priority: number): FifoQueue<T> {
    let queue = this.#byPriority.get(priority);
    if (!queue) {
      queue = new FifoQueue<T>();
      this.#byPriority.set(priority, queue);
      this.#priorities.push(priority);
      this.#priorities.sort((a, b) => b - a);
    }
    return queue;
  }

  /** Add `item` behind the others of its priority. */
  push(item: T): void {
    this.#queue(item.priority).push(item);
    this.#length++;
  }

  /** Put `item` back in front of the others of its priority (it was handed out but never ran). */
  unshift(item: T): void {
    this.#queue(item.priority).unshift(item);
    this.#length++;
  }

  peek(): T | undefined {
    const top = this.#priorities[0];
    return top === undefined ? undefined : this.#byPriority.get(top)?.peek();
  }

  shift(): T | undefined {
    const top = this.#priorities[0];
    if (top === undefined) return undefined;
    const queue = this.#byPriority.get(top)!;
    const item = queue.shift();
    if (queue.length === 0) {
      this.#byPriority.delete(top);
      this.#priorities.shift();
    }
    if (item !== undefined) this.#length--;
    return item;
  }

  /** Remove `item` (a cancelled task); false if it is not here. */
  remove(item: T): boolean {
    const queue = this.#byPriority.get(item.priority);
    if (!queue?.remove(item)) return false;
    this.#length--;
    if (queue.length === 0) {
      this.#byPriority.delete(item.priority);
      this.#priorities = this.#priorities.filter((priority) => priority !== item.priority);
    }
    return true;
  }

  /** Remove and return every item, highest priority first. */
  drain(): T[] {
    const items = this.#priorities.flatMap((priority) => this.#byPriority.get(priority)!.drain());
    this.#byPriority.clear();
    this.#priorities = [];
    this.#length = 0;
    return items;
  }
}

/** Tasks waiting for their time: a binary heap ordered by `due`, then by `seq`. */
export class DeferredQueue<T extends { due: number; seq: number }> {
  readonly #heap: T[] = [];

  get length(): number {
    return this.#heap.length;
  }

  /** The earliest `due`, if any. */
  get nextDue(): number | undefined {
    return this.#heap[0]?.due;
  }

  push(item: T): void {
    const heap = this.#heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  /** Remove `item` (a cancelled task); false if it is not here. */
  remove(item: T): boolean {
    const index = this.#heap.indexOf(item);
    if (index === -1) return false;
    this.#heap.splice(index, 1);
    // A sorted array is a valid heap; removals are rare (cancellations).
    this.#heap.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    return true;
  }

  /** Remove and return every item due at or before `now`, earliest first. */
  takeDue(now: number): T[] {
    const due: T[] = [];
    while (this.#heap.length > 0 && this.#heap[0]!.due <= now) due.push(this.#pop());
    return due;
  }

  /** Remove and return every item. */
  drain(): T[] {
    const items: T[] = [];
    while (this.#heap.length > 0) items.push(this.#pop());
    return items;
  }

  #pop(): T {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

function before(a: { due: number; seq: number }, b: { due: number; seq: number }): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
