import { TASK_MAX_PRIORITY, TASK_MIN_PRIORITY } from './constants.ts';
import { InvalidTask } from './exceptions.ts';

/** Throw `InvalidTask` unless `priority` is a whole number in range. */
export function checkPriority(priority: unknown): void {
  if (
    typeof priority !== 'number' ||
    !Number.isInteger(priority) ||
    priority < TASK_MIN_PRIORITY ||
    priority > TASK_MAX_PRIORITY
  ) {
    throw new InvalidTask(
      `priority must be a whole number between ${TASK_MIN_PRIORITY} and ${TASK_MAX_PRIORITY} (got ${String(priority)}).`,
    );
  }
}

/** Throw `InvalidTask` unless `runAfter` is `null` or a valid `Date`. */
export function checkRunAfter(runAfter: unknown): void {
  if (runAfter === null) return;
  if (!(runAfter instanceof Date) || Number.isNaN(runAfter.getTime())) {
    const got = runAfter instanceof Date ? 'Invalid Date' : typeof runAfter;
    throw new InvalidTask(`runAfter must be a valid Date (got ${got}).`);
  }
}

/** Throw `InvalidTask` unless `value` is a non-empty string. */
export function checkName(what: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidTask(
      `${what} must be a non-empty string (got ${JSON.stringify(value) ?? typeof value}).`,
    );
  }
}

/** Throw `InvalidTask` unless `maxAttempts` is a whole number of at least 1. */
export function checkMaxAttempts(maxAttempts: unknown): void {
  if (typeof maxAttempts !== 'number' || !Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new InvalidTask(
      `maxAttempts must be a whole number of at least 1 (got ${String(maxAttempts)}).`,
    );
  }
}
