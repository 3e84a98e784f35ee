/**
 * When a worker claims: in batches once half its capacity is free (or at once after a wake-up,
 * since a new task may outrank the claimed ones), and otherwise waits for a wake-up (an
 * enqueue in this process, a NOTIFY, a retry or deferred task coming due) or the poll interval.
 * It knows nothing of SQL: the worker claims, this only says when and how many.
 */

/** What a {@link ClaimSchedule} is set up with. */
export interface ClaimScheduleOptions {
  /** Running plus locally queued tasks at most. */
  capacity: number;
  /** Claim once this many places are free. */
  lowWater: number;
  pollIntervalMs: number;
  /** Run what is ready, then stop: no polling, no looking ahead. */
  batch: boolean;
  /** When the next deferred task becomes due (null: none waiting). */
  nextDue: () => Promise<Date | null>;
}

/** A claim to make now: how many rows, and the wake-up it answers. */
export interface PlannedClaim {
  room: number;
  seq: number;
}

export class ClaimSchedule {
  readonly #options: ClaimScheduleOptions;
  /** Counts wake-ups that may have brought work; a claim answers those up to its own. */
  #wakeSeq = 0;
  #claimedAtSeq = -1;
  #mayHaveWork = true;
  #stopped = false;
  #endWait: (() => void) | undefined;
  #nextDueAt = Number.POSITIVE_INFINITY;
  /**
   * When to poll next (epoch ms). Set when a claim comes back short, and kept when a wait is
   * interrupted (a slot freed): restarting the interval at each interruption would postpone
   * the poll for as long as tasks keep finishing, and a task enqueued by another process
   * (SQLite has no NOTIFY) would wait up to the interval after the last one finished.
   */
  #pollAt = 0;
  #lookingAhead: Promise<void> | undefined;

  constructor(options: ClaimScheduleOptions) {
    this.#options = options;
  }

  /** Whether a claim may find work (false after a claim came back short, until a wake-up). */
  get mayHaveWork(): boolean {
    return this.#mayHaveWork;
  }

  /** New work may be there: claim at once. */
  wake(): void {
    this.#wakeSeq++;
    this.#mayHaveWork = true;
    this.interrupt();
  }

  /** End the current wait without new work (a slot freed, a stop, an earlier due time). */
  interrupt(): void {
    const end = this.#endWait;
    this.#endWait = undefined;
    end?.();
  }

  /** Stop: the current wait ends and no new one starts. */
  stop(): void {
    this.#stopped = true;
    this.interrupt();
  }

  /** A retry was stored that becomes due at `at` (epoch ms): wake then at the latest. */
  dueAt(at: number): void {
    this.#nextDueAt = Math.min(this.#nextDueAt, at);
  }

  /**
   * The claim to make now with `held` tasks held and at most `budget` more to take, or
   * undefined: in batches once half the capacity is free, when nothing is held, to take the
   * last of the budget, or at once after a wake-up.
   */
  plan(held: number, budget: number): PlannedClaim | undefined {
    const room = Math.min(this.#options.capacity - held, budget);
    const worth =
      held === 0 ||
      room >= this.#options.lowWater ||
      room === budget ||
      this.#wakeSeq !== this.#claimedAtSeq;
    if (room <= 0 || !this.#mayHaveWork || !worth) return undefined;
    this.#claimedAtSeq = this.#wakeSeq;
    return { room, seq: this.#wakeSeq };
  }

  /**
   * A claim planned as `planned` took `claimed` rows; `held` are held now. Returns whether to
   * claim again at once (work may be left and half the capacity is free).
   */
  claimed(planned: PlannedClaim, claimed: number, held: number): boolean {
    if (claimed < planned.room) {
      // No wake-up since the claim began: what was there is taken.
      if (planned.seq === this.#wakeSeq) this.#mayHaveWork = false;
      this.#pollAt = Date.now() + this.#options.pollIntervalMs;
      // Off the claim path: a wake-up meanwhile claims at once instead of waiting for it.
      if (!this.#options.batch) this.#lookAhead();
    }
    return this.#mayHaveWork && this.#options.capacity - held >= this.#options.lowWater;
  }

  /** Learn when the next deferred task comes due, in the background (one look at a time). */
  #lookAhead(): void {
    this.#lookingAhead ??= (async () => {
      try {
        const next = await this.#options.nextDue();
        if (next && next.getTime() < this.#nextDueAt) {
          this.#nextDueAt = next.getTime();
          this.interrupt(); // wait again, until the earlier time
        }
      } catch {
        // Polling covers it.
      } finally {
        this.#lookingAhead = undefined;
      }
    })();
  }

  /** Wait for a wake-up, an interruption, the next due time, or the poll interval (not in batch mode). */
  wait(): Promise<void> {
    // A stop that came while the loop was busy (claiming) found no wait to end: do not start one.
    if (this.#stopped) return Promise.resolve();
    const now = Date.now();
    if (this.#pollAt <= now) this.#pollAt = now + this.#options.pollIntervalMs;
    let timeout = this.#options.batch ? Number.POSITIVE_INFINITY : this.#pollAt - now;
    if (this.#nextDueAt !== Number.POSITIVE_INFINITY)
      timeout = Math.min(timeout, Math.max(0, this.#nextDueAt - now));
    return new Promise((resolve) => {
      const timer = Number.isFinite(timeout)
        ? setTimeout(() => {
            this.#nextDueAt = Number.POSITIVE_INFINITY;
            this.wake();
          }, timeout)
        : undefined;
      this.#endWait = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Resolves once no look-ahead query is under way. */
  async idle(): Promise<void> {
    await this.#lookingAhead;
  }
}
