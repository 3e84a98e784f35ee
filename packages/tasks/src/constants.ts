/** The alias of the backend tasks use unless they name another. */
export const DEFAULT_TASK_BACKEND_ALIAS = 'default';
/** The queue tasks go to unless they name another. */
export const DEFAULT_TASK_QUEUE_NAME = 'default';
/** The priority of a task that does not set one. */
export const DEFAULT_TASK_PRIORITY = 0;
/** The lowest priority a task may have. */
export const TASK_MIN_PRIORITY = -100;
/** The highest priority a task may have; larger numbers run sooner. */
export const TASK_MAX_PRIORITY = 100;
