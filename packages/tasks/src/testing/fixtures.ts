/**
 * Fixture tasks for backend tests, like Django's `tests/tasks/tasks.py`. Worker threads and
 * processes find them by name after importing this module (see `FIXTURES_MODULE`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonValue } from '../json.ts';
import { task } from '../task.ts';

/** The URL of this module, for a configuration's `taskModules`. */
export const FIXTURES_MODULE: string = import.meta.url;

/** Does nothing. */
export const noop = task({ name: 'djtasks.fixtures.noop' }, () => {});

/** Returns what it was given and their sum. */
export const addNumbers = task({ name: 'djtasks.fixtures.addNumbers' }, (a: number, b: number) => ({
  a,
  b,
  sum: a + b,
}));

/** Echoes its argument back. */
export const echo = task({ name: 'djtasks.fixtures.echo' }, (value: JsonValue) => value);

/** Throws a `TypeError` with `message`. */
export const fails = task({ name: 'djtasks.fixtures.fails' }, (message: string): void => {
  throw new TypeError(message);
});

/** Returns what its context says. */
export const readsContext = task(
  { name: 'djtasks.fixtures.readsContext', takesContext: true },
  (context) => ({
    id: context.taskResult.id,
    attempt: context.attempt,
    status: context.taskResult.status,
    aborted: context.signal.aborted,
  }),
);

/** Fails its first `failures` attempts, then returns the attempt number. Up to 3 attempts, 10 ms apart. */
export const flaky = task(
  { name: 'djtasks.fixtures.flaky', takesContext: true, maxAttempts: 3, backoff: () => 10 },
  (context, failures: number) => {
    if (context.attempt <= failures) throw new Error(`attempt ${context.attempt} failed`);
    return context.attempt;
  },
);

/** Waits `ms` milliseconds, then returns `ms`. */
export const sleeps = task({ name: 'djtasks.fixtures.sleeps' }, async (ms: number) => {
  await sleep(ms);
  return ms;
});

/** Keeps the CPU busy for `ms` milliseconds without yielding, then returns `ms`. */
export const blocksCpu = task({ name: 'djtasks.fixtures.blocksCpu' }, (ms: number) => {
  const end = performance.now() + ms;
  let spins = 0;
  while (performance.now() < end) spins++;
  return spins > 0 ? ms : 0;
});

/** Never finishes on its own; rejects when its context's signal fires. */
export const neverEnding = task(
  { name: 'djtasks.fixtures.neverEnding', takesContext: true },
  (context) =>
    new Promise<void>((_resolve, reject) => {
      const stop = (): void => {
        reject(new Error('aborted by the backend'));
      };
      if (context.signal.aborted) stop();
      context.signal.addEventListener('abort', stop, { once: true });
    }),
);

/** Calls `process.exit(code)`. Only for backends that isolate tasks from the test process. */
export const exits = task({ name: 'djtasks.fixtures.exits' }, (code: number): void => {
  process.exit(code);
});

/** Returns a `Date`, which JSON cannot carry. */
export const returnsDate = task(
  { name: 'djtasks.fixtures.returnsDate' },
  () => new Date(0) as unknown as JsonValue,
);

/** Rejects asynchronously with a `RangeError`. */
export const rejects = task(
  { name: 'djtasks.fixtures.rejects' },
  async (message: string): Promise<void> => {
    await sleep(1);
    throw new RangeError(message);
  },
);

/** Waits for its signal and rejects with its reason; a timeout of half a second. */
export const honoursTimeout = task(
  { name: 'djtasks.fixtures.honoursTimeout', takesContext: true, timeout: 0.5 },
  (context) => untilAborted(context.signal),
);

/** Times out on its first attempt (honouring the abort), returns `'second'` on the second. */
export const timesOutOnce = task(
  {
    name: 'djtasks.fixtures.timesOutOnce',
    takesContext: true,
    timeout: 0.5,
    maxAttempts: 2,
    backoff: () => 10,
  },
  async (context): Promise<string> => {
    if (context.attempt === 1) await untilAborted(context.signal);
    return 'second';
  },
);

/** Never settles and ignores its signal; a timeout of half a second. */
export const ignoresTimeout = task(
  { name: 'djtasks.fixtures.ignoresTimeout', timeout: 0.5 },
  () => new Promise<void>(() => {}),
);

/**
 * Runs until its signal aborts, then rejects with the reason (a cancellation). Up to 3
 * attempts, so a test sees that a cancelled task is not retried.
 */
export const waitsForCancel = task(
  {
    name: 'djtasks.fixtures.waitsForCancel',
    takesContext: true,
    maxAttempts: 3,
    backoff: () => 10,
  },
  (context) => untilAborted(context.signal),
);

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    const stop = (): void => {
      reject(signal.reason as Error);
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}
