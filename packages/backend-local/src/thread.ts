/**
 * The entry point of each worker thread: import the task modules, run the setup hook,
 * then run the tasks the pool hands over, one at a time, reporting each start and outcome.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import {
  configureTasks,
  InvalidTask,
  TaskError,
  TaskResult,
  TaskResultStatus,
  type JsonValue,
  type Task,
} from '@djtasks/tasks';
import {
  getRegisteredTask,
  invokeTask,
  loadTaskModules,
  registeredTaskNames,
} from '@djtasks/tasks/backend';
import { forwardingConfig, PendingRequests, withOverrides } from './forwarding.ts';
import type { ThreadSetup } from './options.ts';
import type { FromThread, JobMessage, ThreadEvent, ThreadInit, ToThread } from './protocol.ts';

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
  const during = current ? ` (while task '${current.name}' id=${current.id} ran)` : '';
  post({ type: 'log', level: 'error', message: `unhandled promise rejection${during}: ${detail}` });
});

let current: JobMessage | undefined;
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
      throw new TypeError(
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
  post({ type: 'initFailed', error: TaskError.fromException(error).toJSON() });
  process.exit(1);
}

const queue: (JobMessage | undefined)[] = [];
let head = 0;
let busy = false;
let closing = false;
const running = new Map<string, AbortController>();

const isClosing = (): boolean => closing || Atomics.load(control, 0) === 1;

function describeLoaded(): string {
  const names = registeredTaskNames();
  const shown = names.slice(0, 20).join(', ') + (names.length > 20 ? ', …' : '');
  const modules = loaded.length === 0 ? 'no task modules' : `task modules ${loaded.join(', ')}`;
  return `It imported ${modules}, which define ${names.length === 0 ? 'no tasks' : shown}.`;
}

function taskFor(job: JobMessage): Task {
  const registered = getRegisteredTask(job.name);
  if (!registered) {
    throw new InvalidTask(
      `Task '${job.name}' is not defined in worker thread ${init.workerId}. ${describeLoaded()} ` +
        `Add the module that defines it to taskModules in the tasks configuration.`,
    );
  }
  // The task as enqueued, with its using() changes; a Task is built without validation here.
  return withOverrides(registered, job);
}

async function run(job: JobMessage, at: number): Promise<ThreadEvent> {
  const controller = new AbortController();
  running.set(job.id, controller);
  const begin = performance.now();
  try {
    const previous = job.previous;
    const taskResult = new TaskResult({
      id: job.id,
      task: taskFor(job),
      status: TaskResultStatus.RUNNING,
      enqueuedAt: new Date(job.enqueuedAt),
      startedAt: new Date(previous?.startedAt ?? at),
      finishedAt: null,
      lastAttemptedAt: new Date(at),
      args: job.args,
      backend: job.backend,
      errors: previous ? previous.errors.map((error) => TaskError.fromJSON(error)) : [],
      workerIds: previous ? [...previous.workerIds, init.workerId] : [init.workerId],
    });
    const value: JsonValue = await invokeTask(taskResult, controller.signal);
    const durationUs = Math.round((performance.now() - begin) * 1000);
    return { kind: 'succeeded', id: job.id, value, durationUs };
  } catch (error) {
    const durationUs = Math.round((performance.now() - begin) * 1000);
    return {
      kind: 'failed',
      id: job.id,
      error: TaskError.fromException(error).toJSON(),
      durationUs,
    };
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
  while (head < queue.length && !isClosing()) {
    const job = queue[head]!;
    queue[head++] = undefined;
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

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'run':
      for (const job of message.jobs) queue.push(job);
      if (!busy) void drain();
      break;
    case 'abort':
      for (const controller of running.values()) {
        controller.abort(new Error(`ThreadPoolBackend '${init.alias}' is closing`));
      }
      break;
    case 'close':
      closing = true;
      if (!busy) void stop();
      break;
    case 'reply':
      requests.settle(message);
      break;
  }
});
post({ type: 'ready' });
