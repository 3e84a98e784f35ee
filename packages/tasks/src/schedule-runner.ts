/**
 * The in-process scheduler of the backends that run in one process (ImmediateBackend,
 * ThreadPoolBackend): one timer per schedule, started with the backend, stopped by its
 * `close()`. One process means no other scheduler to agree with, so the last tick is kept in
 * memory; a restarted process starts again from its start time (missed ticks are not filled).
 */
import { getTaskLogger } from './log.ts';
import { nextTick, scheduledTask, tickKey, ticksDue, type Schedule } from './schedules.ts';

/** The longest delay a Node timer holds. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Fires the ticks of `schedules` whose task runs on the backend `alias`, in this process. */
export class InProcessScheduler {
  readonly #alias: string;
  readonly #taskModules: readonly string[];
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #last = new Map<string, Date>();
  readonly #pending = new Set<Promise<unknown>>();
  #closed = false;

  constructor(alias: string, schedules: readonly Schedule[], taskModules: readonly string[]) {
    this.#alias = alias;
    this.#taskModules = taskModules;
    const now = new Date();
    for (const schedule of schedules) {
      this.#last.set(schedule.name, now);
      this.#arm(schedule);
    }
  }

  #arm(schedule: Schedule): void {
    if (this.#closed) return;
    const next = nextTick(schedule, this.#last.get(schedule.name)!);
    const delay = Math.min(Math.max(0, next.getTime() - Date.now()), MAX_DELAY_MS);
    this.#timers.set(
      schedule.name,
      setTimeout(() => this.#fire(schedule), delay),
    );
  }

  #fire(schedule: Schedule): void {
    if (this.#closed) return;
    const ticks = ticksDue(schedule, this.#last.get(schedule.name)!, new Date());
    for (const tick of ticks) {
      this.#last.set(schedule.name, tick);
      this.#enqueue(schedule, tick);
    }
    this.#arm(schedule);
  }

  #enqueue(schedule: Schedule, tick: Date): void {
    const log = getTaskLogger();
    const run = (async () => {
      const task = scheduledTask(schedule, this.#taskModules);
      // Another configured backend runs this task's schedule.
      if (task.backend !== this.#alias) return;
      await task.using({ uniqueKey: tickKey(schedule, tick) }).enqueue(...schedule.args);
    })();
    const pending = run.then(
      () => log.debug(`schedule '${schedule.name}' enqueued its tick ${tick.toISOString()}`),
      (error: unknown) =>
        log.error(
          `schedule '${schedule.name}' could not enqueue its tick ${tick.toISOString()}`,
          error,
        ),
    );
    this.#pending.add(pending);
    void pending.finally(() => this.#pending.delete(pending));
  }

  /** Stop firing ticks, and wait for the enqueues already started. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#pending]);
  }
}
