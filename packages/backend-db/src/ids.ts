import { randomId } from '@djtasks/tasks/backend';

let lastMs = 0;
let counter = 0;

/**
 * A 32-character task id that sorts in enqueue order within a process: milliseconds and a
 * counter in base 36, then random characters.
 */
export function newTaskId(): string {
  const now = Date.now();
  if (now === lastMs) {
    counter = (counter + 1) % 36 ** 4;
  } else {
    lastMs = now;
    counter = 0;
  }
  return now.toString(36).padStart(9, '0') + counter.toString(36).padStart(4, '0') + randomId(19);
}
