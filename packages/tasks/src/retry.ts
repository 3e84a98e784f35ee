import { InvalidTask } from './exceptions.ts';
import type { TaskError } from './task-error.ts';

/**
 * Decide what happens after failed attempt number `attempt` (1-based) raised `error`:
 * return the delay in milliseconds before the next attempt, or `null` (or `false`) to
 * stop retrying. It is only asked while attempts are left (`attempt < maxAttempts`).
 */
export type Backoff = (attempt: number, error: TaskError) => number | null | false;

/** Options of {@link exponentialBackoff}. */
export interface ExponentialBackoffOptions {
  /** Delay before the second attempt, before jitter. @defaultValue 1000 */
  baseMs?: number;
  /** Largest delay, before jitter. @defaultValue 3_600_000 (one hour) */
  maxMs?: number;
  /** Growth per attempt. @defaultValue 2 */
  factor?: number;
  /** Fraction of the delay that is random, 0..1. @defaultValue 0.5 */
  jitter?: number;
}

/** Make a backoff that waits `baseMs * factor^(attempt-1)`, capped at `maxMs`, with random jitter. */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  const { baseMs = 1000, maxMs = 3_600_000, factor = 2, jitter = 0.5 } = options;
  for (const [name, value] of Object.entries({ baseMs, maxMs, factor, jitter })) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new InvalidTask(
        `exponentialBackoff: ${name} must be a finite number >= 0 (got ${String(value)})`,
      );
    }
  }
  if (jitter > 1)
    throw new InvalidTask(`exponentialBackoff: jitter must be between 0 and 1 (got ${jitter})`);
  return (attempt) => {
    const delay = Math.min(maxMs, baseMs * factor ** Math.max(0, attempt - 1));
    return Math.round(delay * (1 - jitter) + delay * jitter * Math.random());
  };
}

/** The backoff tasks use unless they set their own: 1 s, 2 s, 4 s … up to an hour, half of it jitter. */
export const defaultBackoff: Backoff = exponentialBackoff();
