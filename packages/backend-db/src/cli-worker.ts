/**
 * `djtasks worker`: parse its options (defaults from `WORKER_DEFAULTS`, shared with the
 * `Worker` class), build a `Worker`, and turn SIGINT/SIGTERM into its graceful stop (first
 * signal) and forced stop (second). The only place that installs process signal handlers.
 */
import { parseArgs } from 'node:util';
import { databaseBackend, number, queueList, UsageError, type MainOptions } from './cli-args.ts';
import { Worker, WORKER_DEFAULTS } from './worker.ts';

/** After the grace period of a forced stop, how long releasing tasks may take before the process exits anyway. */
const FORCED_EXIT_MARGIN_MS = 5000;

/** Run `djtasks worker` with `args`; resolves with the exit code. */
export async function runWorker(args: string[], options: MainOptions): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: WORKER_DEFAULTS.backend },
      queue: { type: 'string', default: WORKER_DEFAULTS.queues.join(',') },
      'exclude-queues': { type: 'string', default: '' },
      concurrency: { type: 'string' },
      prefetch: { type: 'string' },
      batch: { type: 'boolean', default: false },
      'max-tasks': { type: 'string' },
      'worker-id': { type: 'string' },
      interval: { type: 'string' },
      lease: { type: 'string' },
      grace: { type: 'string' },
      'startup-delay': { type: 'boolean', default: true },
      schedules: { type: 'boolean', default: true },
    },
    allowNegative: true,
    strict: true,
  });
  const queues = queueList(values.queue);
  const excludeQueues = values['exclude-queues']
    .split(',')
    .map((q) => q.trim())
    .filter((q) => q !== '');
  if (excludeQueues.length > 0 && queues !== '*') {
    throw new UsageError('--exclude-queues can only be used with --queue=*');
  }
  const workerId = values['worker-id'];
  if (workerId !== undefined && (workerId.trim() === '' || workerId.length > 64)) {
    throw new UsageError(`--worker-id: must be 1 to 64 characters (got '${workerId}').`);
  }
  const interval = number(
    'interval',
    values.interval,
    (n) => n >= 0,
    'a finite number of seconds, zero or greater',
  );
  const lease = number(
    'lease',
    values.lease,
    (n) => n > 0,
    'a number of seconds greater than zero',
  );
  const grace = number(
    'grace',
    values.grace,
    (n) => n >= 0,
    'a number of seconds, zero or greater',
  );
  const abortGraceMs = grace === undefined ? WORKER_DEFAULTS.abortGraceMs : grace * 1000;
  const worker = new Worker({
    abortGraceMs,
    backend: databaseBackend(values.backend),
    queues,
    excludeQueues,
    concurrency: number(
      'concurrency',
      values.concurrency,
      (n) => Number.isInteger(n) && n > 0,
      'a whole number greater than zero',
    ),
    prefetch: number(
      'prefetch',
      values.prefetch,
      (n) => Number.isInteger(n) && n >= 0,
      'a whole number, zero or greater',
    ),
    batch: values.batch,
    maxTasks: number(
      'max-tasks',
      values['max-tasks'],
      (n) => Number.isInteger(n) && n > 0,
      'a whole number greater than zero',
    ),
    workerId,
    pollIntervalMs: interval === undefined ? undefined : interval * 1000,
    leaseMs: lease === undefined ? undefined : lease * 1000,
    startupDelay: values['startup-delay'],
    schedules: values.schedules,
  });
  let signals = 0;
  let forced = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      console.error(
        `[djtasks] Received ${signal} - shutting down gracefully... (send it again to force)`,
      );
      void worker.stop();
    } else if (!forced) {
      forced = true;
      console.error(
        `[djtasks] Received ${signal} - aborting running tasks; exiting within ${abortGraceMs / 1000} s.`,
      );
      void worker.abort();
      // The worker releases tasks that ignore their signal once the grace period ends; if even
      // that cannot finish (the database does not answer), the process exits anyway.
      const deadline = setTimeout(() => {
        console.error(
          `[djtasks] The worker did not stop within ${(abortGraceMs + FORCED_EXIT_MARGIN_MS) / 1000} s of the second signal; exiting. ` +
            'Tasks it still held are taken back by other workers when their leases expire.',
        );
        options.exit?.(1);
      }, abortGraceMs + FORCED_EXIT_MARGIN_MS);
      deadline.unref();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await worker.run();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return forced ? 1 : 0;
}
