/**
 * The `djtasks` command's logging: human-readable lines on stderr by default, or JSON lines
 * (`--log-format json`) for a log shipper; and one line per attempt, with its fields, at debug
 * level (`-v 2`). An app's own logger (`logger` in the configuration) replaces the first and
 * receives the second as `(message, fields)`.
 */
import { addTaskInstrumentation, type TaskLogger } from '@djtasks/tasks';
import { getTaskLogger } from '@djtasks/tasks/backend';

/** How the command writes log lines. */
export type LogFormat = 'text' | 'json';

/** The log formats `--log-format` accepts. */
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

type Level = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

function isFields(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
  );
}

/** A log call's details as JSON fields: objects merged, an error as `error`, the rest as `details`. */
function jsonFields(details: readonly unknown[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const rest: unknown[] = [];
  for (const detail of details) {
    if (isFields(detail)) Object.assign(fields, detail);
    else if (detail instanceof Error) {
      fields.error = { type: detail.name, message: detail.message, stack: detail.stack };
    } else rest.push(detail);
  }
  if (rest.length > 0) fields.details = rest.map((d) => (typeof d === 'string' ? d : String(d)));
  return fields;
}

/** A logger for the command: `verbosity` 0 warnings and errors, 1 also info, 2 also debug. */
export function commandLogger(
  format: LogFormat,
  verbosity: number,
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): TaskLogger {
  const at =
    (level: Level) =>
    (message: string, ...details: unknown[]): void => {
      if (format === 'json') {
        write(
          JSON.stringify({
            time: new Date().toISOString(),
            level,
            msg: message,
            ...jsonFields(details),
          }),
        );
        return;
      }
      const [first, ...others] = details;
      if (isFields(first)) {
        const pairs = Object.entries(first).map(([key, value]) => `${key}=${String(value)}`);
        console.error(`[djtasks] ${level} ${message} ${pairs.join(' ')}`, ...others);
      } else {
        console.error(`[djtasks] ${level} ${message}`, ...details);
      }
    };
  const off = (): void => {};
  return {
    debug: verbosity >= 2 ? at('DEBUG') : off,
    info: verbosity >= 1 ? at('INFO') : off,
    warn: at('WARNING'),
    error: at('ERROR'),
  };
}

/**
 * Log each attempt this process runs at debug level: task id, name, attempt, queue, worker
 * id, outcome status and duration. Returns a function that stops.
 */
export function logAttempts(): () => void {
  return addTaskInstrumentation({
    attempt: async (running, attempt) => {
      const begin = performance.now();
      const outcome = await attempt();
      getTaskLogger().debug('task attempt', {
        taskId: running.id,
        taskName: running.task.name,
        attempt: running.attempts,
        queue: running.task.queueName,
        workerId: running.workerIds.at(-1) ?? null,
        status: outcome.status,
        durationMs: Math.round((performance.now() - begin) * 10) / 10,
      });
      return outcome;
    },
  });
}
