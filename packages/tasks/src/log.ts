import { debuglog } from 'node:util';

/** Where djtasks writes what it has to say. Any `console`-like object fits. */
export interface TaskLogger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

const debug = debuglog('djtasks');

/** The default logger: debug and info only with `NODE_DEBUG=djtasks`, warnings and errors to stderr. */
export const defaultTaskLogger: TaskLogger = {
  debug: (message, ...details) => {
    debug(message, ...details);
  },
  info: (message, ...details) => {
    debug(message, ...details);
  },
  warn: (message, ...details) => {
    console.warn(`djtasks: ${message}`, ...details);
  },
  error: (message, ...details) => {
    console.error(`djtasks: ${message}`, ...details);
  },
};

let current: TaskLogger = defaultTaskLogger;

/** The logger djtasks uses now. */
export function getTaskLogger(): TaskLogger {
  return current;
}

/**
 * Whether a debug line may be written: false only for the default logger without
 * `NODE_DEBUG=djtasks`, so that a line built for every task is not built for nothing.
 */
export function taskDebugEnabled(): boolean {
  return current !== defaultTaskLogger || debug.enabled;
}

/** Replace the logger (`configureTasks` does this from the configuration's `logger`). */
export function setTaskLogger(logger: TaskLogger | undefined): void {
  current = logger ?? defaultTaskLogger;
}
