/**
 * The entry point of each worker thread: import the task modules, run the setup hook,
 * then run the tasks the pool hands over, one at a time, reporting each start and outcome.
 * The attempt starts through the lifecycle's `startAttempt` here as in the main thread, so
 * the task's `TaskContext` sees the same RUNNING result the main thread records.
 */
import { parentPort, receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import {
  configureTasks,
  InvalidTask,
  TaskBackendClosed,
  TaskCancelled,
  TaskError,
  TaskTimeout,
} from '@djtasks/tasks';
import {
  exceptionToData,
  getRegisteredTask,
  hasTaskInstrumentation,
  instrumentExecution,
  invokeTask,
  loadTaskModules,
  registeredTaskNames,
  startAttempt,
  taskErrorToData,
  taskResultFromData,
  type TaskResultData,
} from '@djtasks/tasks/backend';
import { forwardingConfig, PendingRequests } from './forwarding.ts';
import type { ThreadSetup } from './options.ts';
import type { FromThread, StopReason, ThreadEvent, ThreadInit, ToThread } from './protocol.ts';

if (!parentPort) throw new Error('@djtasks/backend-local thread.ts runs only as a worker thread.');
const port = parentPort;
const init = workerData as ThreadInit;
const control = new Int32Array(init.control);

function post(message: FromThread): void {
  port.postMessage(message);
}

// A promise a task forgot to handle must not end the thread (Node's default for a worker).
process.on('unhandledRejection', (reason) => {
  const detail = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
  const during = current ? ` (while task '${current.taskName}' id=${current.id} ran)` : '';
  post({ type: 'log', level: 'error', message: `unhandled promise rejection${during}: ${detail}` });
});

let current: TaskResultData | undefined;
let loaded: string[] = [];
let teardown: (() => void | Promise<void>) | undefined;
const requests = new PendingRequests(post);

try {
  // A task that enqueues a task from this thread reaches the main thread's backend of that
  // alias. Installed first, so that a task module or threadSetup that configures tasks itself wins.
  configureTasks(forwardingConfig(init.backends, init.taskModules, requests.forward));
  loaded = await loadTaskModules(init.taskModules);
  if (init.threadSetup !== null) {
    const module = (await import(init.threadSetup)) as { default?: unknown };
    if (typeof module.default !== 'function') {
      throw new InvalidTask(
        `threadSetup module '${init.threadSetup}' must export a default function (got ${typeof module.default}).`,
      );
    }
    const returned = await (module.default as ThreadSetup)({
      alias: init.alias,
      workerId: init.workerId,
      threadId,
    });
    if (typeof returned === 'function') teardown = returned;
  }
} catch (error) {
  post({ type: 'initFailed', error: exceptionToData(error) });
  process.exit(1);
}

/**
 * Whether the thread setup added instrumentation: then each task's function runs through the
 * `execute` hooks, with the attempt metadata the main thread sends once it has started the
 * attempt (its consumer span), so this thread waits for it before calling the function.
 */
const instrumented = hasTaskInstrumentation();
/** Who waits for the attempt metadata of each started task, by id. */
const metadataWaiters = new Map<string, (metadata: Record<string, string>) => void>();

/** The attempt metadata of task `id` from the main thread; `{}` if `signal` aborts first. */
function attemptMetadataOf(id: string, signal: AbortSignal): Promise<Record<string, string>> {
  return new Promise((resolve) => {
    const settle = (metadata: Record<string, string>): void => {
      metadataWaiters.delete(id);
      signal.removeEventListener('abort', onAbort);
      resolve(metadata);
    };
    const onAbort = (): void => {
      settle({});
    };
    if (signal.aborted) {
      resolve({});
    } else {
      metadataWaiters.set(id, settle);
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

const queue: (TaskResultData | undefined)[] = [];
let head = 0;
let busy = false;
let closing = false;
/** The running task's controller, by id. */
const running = new Map<string, AbortController>();
/** Queued tasks the pool told us to stop before they started. */
const dropped = new Set<string>();

const isClosing = (): boolean => closing || Atomics.load(control, 0) === 1;
/** The pool's count of stop messages when this thread last read its pending messages. */
let stopsSeen = 0;

function describeLoaded(): string {
  const names = registeredTaskNames();
  const shown = names.slice(0, 20).join(', ') + (names.length > 20 ? ', …' : '');
  const modules = loaded.length === 0 ? 'no task modules' : `task modules ${loaded.join(', ')}`;
  return `It imported ${modules}, which define ${names.length === 0 ? 'no tasks' : shown}.`;
}

async function run(job: TaskResultData, at: number): Promise<ThreadEvent> {
  const controller = new AbortController();
  running.set(job.id, controller);
  const begin = performance.now();
  try {
    const registered = getRegisteredTask(job.taskName);
    if (!registered) {
      throw new InvalidTask(
        `Task '${job.taskName}' is not defined in worker thread ${init.workerId}. ${describeLoaded()} ` +
          `Add the module that defines it to taskModules in the tasks configuration.`,
      );
    }
    // The task as enqueued, with its using() changes, rebuilt without validation.
    const ready = taskResultFromData(job, { task: registered });
    const { result } = startAttempt(ready, init.workerId, new Date(at));
    const value = instrumented
      ? await instrumentExecution(result, await attemptMetadataOf(job.id, controller.signal), () =>
          invokeTask(result, controller.signal),
        )
      : await invokeTask(result, controller.signal);
    const durationUs = Math.round((performance.now() - begin) * 1000);
    return { kind: 'succeeded', id: job.id, value, durationUs };
  } catch (error) {
    const durationUs = Math.round((performance.now() - begin) * 1000);
    const taskError = TaskError.fromException(error);
    return { kind: 'failed', id: job.id, error: taskErrorToData(taskError), durationUs };
  } finally {
    running.delete(job.id);
  }
}

/**
 * Run the queued jobs one after the other. Each start is posted before the task runs
 * (together with the previous task's outcome), so that if the task ends the thread, the
 * pool knows exactly which task was running and that every earlier one was reported.
 */
async function drain(): Promise<void> {
  busy = true;
  let outbox: ThreadEvent[] = [];
  for (;;) {
    // Messages that arrived while the last task ran (a stop for the next one) come first;
    // read them only when the pool has sent a stop since the last look.
    const stops = Atomics.load(control, 1);
    if (stops !== stopsSeen) {
      stopsSeen = stops;
      for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) {
        handle(next.message as ToThread);
      }
    }
    if (head >= queue.length || isClosing()) break;
    const job = queue[head]!;
    queue[head++] = undefined;
    if (dropped.delete(job.id)) {
      outbox.push({ kind: 'dropped', id: job.id });
      continue;
    }
    const at = Date.now();
    outbox.push({ kind: 'started', id: job.id, at });
    post(outbox);
    outbox = [];
    current = job;
    outbox.push(await run(job, at));
    current = undefined;
  }
  if (head === queue.length) {
    queue.length = 0;
    head = 0;
  }
  if (outbox.length > 0) post(outbox);
  busy = false;
  if (isClosing()) await stop();
}

let stopping: Promise<void> | undefined;

/** Run the teardown once and end the thread. */
function stop(): Promise<void> {
  stopping ??= shutdown();
  return stopping;
}

async function shutdown(): Promise<void> {
  // A task may have left an enqueue to the main thread unawaited: let it arrive first.
  await requests.settled();
  try {
    await teardown?.();
  } catch (error) {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    post({ type: 'log', level: 'error', message: `threadSetup teardown failed: ${detail}` });
  }
  process.exit(0);
}

function stopReason(id: string, reason: StopReason): Error {
  return reason.kind === 'timeout' ? new TaskTimeout(reason.timeout) : new TaskCancelled(id);
}

function handle(message: ToThread): void {
  switch (message.type) {
    case 'run':
      for (const job of message.jobs) queue.push(job);
      if (!busy) void drain();
      break;
    case 'abort':
      for (const controller of running.values()) {
        controller.abort(
          new TaskBackendClosed(init.alias, `ThreadPoolBackend '${init.alias}' is closing`),
        );
      }
      break;
    case 'stop': {
      const controller = running.get(message.id);
      if (controller) controller.abort(stopReason(message.id, message.reason));
      else if (queue.some((job, index) => index >= head && job?.id === message.id)) {
        dropped.add(message.id);
      }
      break;
    }
    case 'close':
      closing = true;
      if (!busy) void stop();
      break;
    case 'attemptMetadata':
      metadataWaiters.get(message.id)?.(message.metadata);
      break;
    case 'reply':
      requests.settle(message);
      break;
  }
}

port.on('message', handle);
post({ type: 'ready', instrumented });
