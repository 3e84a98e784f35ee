/**
 * The official hook for integrations (tracing, metrics): code that wraps each enqueue and
 * each attempt, and adds metadata to new results. Signals tell a receiver that something
 * happened; an instrumentation runs *around* it, so that a span can be active while the
 * backend writes the task and while the task's function runs. With none added, nothing here
 * costs more than an empty-list check.
 */
import type { JsonValue } from './json.ts';
import { getTaskLogger } from './log.ts';
import { checkTaskMetadata, NO_METADATA, type TaskMetadata } from './metadata.ts';
import type { TaskResult } from './result.ts';
import type { AnyTask } from './task.ts';

/** What `addTaskInstrumentation` takes; every hook is optional. */
export interface TaskInstrumentation {
  /**
   * Wrap one `enqueue()` (`count` 1) or `enqueueMany()` call of `task`: call `enqueue` once
   * and resolve with what it resolves to, the new results. The results' `metadata` hooks run
   * inside `enqueue`, so a context made active here is the one they see.
   */
  enqueue?: (
    task: AnyTask,
    count: number,
    enqueue: () => Promise<readonly TaskResult[]>,
  ) => Promise<readonly TaskResult[]>;
  /**
   * Return entries to add to the metadata of a result being created for `task` (or nothing).
   * Called once per result, inside the `enqueue` wrappers.
   */
  metadata?: (task: AnyTask) => Record<string, string> | undefined;
  /**
   * Wrap one attempt of a task, in the process that runs the attempt (on its main thread):
   * `running` is the RUNNING result; call `attempt` once and resolve with what it resolves to,
   * the attempt's outcome (SUCCESSFUL, FAILED, CANCELLED, or READY again for a retry). Call
   * `attempt` at once, without awaiting anything before it (a cancellation must find the
   * attempt registered). The task's function runs inside it (on the thread pool it runs in a
   * worker thread: there only the wrapping is inside).
   */
  attempt?: (running: TaskResult, attempt: () => Promise<TaskResult>) => Promise<TaskResult>;
  /**
   * Wrap the call of the task's function where it runs apart from its attempt: in a worker
   * thread of the thread pool (add it there, in the thread setup module), where the main
   * thread's `attempt` hooks cannot make anything active. `attemptMetadata` is what the
   * `metadata` hooks of the attempt's process returned inside its `attempt` hooks (with
   * tracing: the context of the attempt's consumer span). Call `execute` once, at once.
   * Not called where the function runs inside the `attempt` hooks (the other backends).
   */
  execute?: (
    running: TaskResult,
    attemptMetadata: TaskMetadata,
    execute: () => Promise<JsonValue>,
  ) => Promise<JsonValue>;
}

const installed: TaskInstrumentation[] = [];

/**
 * Add `instrumentation` to every enqueue and attempt in this process from now on, and
 * return a function that removes it. Added instrumentations nest, the first outermost.
 * An instrumentation that throws is logged and never breaks the enqueue or the task; one that
 * fails to call its `enqueue`/`attempt` has it called for it.
 */
export function addTaskInstrumentation(instrumentation: TaskInstrumentation): () => void {
  installed.push(instrumentation);
  return () => {
    const index = installed.indexOf(instrumentation);
    if (index !== -1) installed.splice(index, 1);
  };
}

/** Whether any instrumentation is added. */
export function hasTaskInstrumentation(): boolean {
  return installed.length > 0;
}

/**
 * Run `run` through the hooks, called once whatever they do; resolves (or rejects) as `run`
 * does, so an instrumentation can never lose the real outcome.
 */
async function wrapped<TArg, TOut>(
  hooks: ((arg: TArg, inner: () => Promise<TOut>) => Promise<TOut>)[],
  arg: TArg,
  run: () => Promise<TOut>,
  what: string,
): Promise<TOut> {
  let real: Promise<TOut> | undefined;
  const once = (): Promise<TOut> => (real ??= run());
  let call = once;
  for (const hook of [...hooks].reverse()) {
    const inner = call;
    call = () => hook(arg, inner);
  }
  try {
    await call();
  } catch (error) {
    // The real operation's own rejection is rethrown by `once()` below; log only the hook's.
    const own =
      real === undefined ||
      (await real.then(
        () => true,
        (r: unknown) => r !== error,
      ));
    if (own) getTaskLogger().error(`task instrumentation failed around ${what}`, error);
  }
  return once();
}

/** Run one enqueue call of `task` through the added `enqueue` hooks. */
export function instrumentEnqueue(
  task: AnyTask,
  count: number,
  enqueue: () => Promise<readonly TaskResult[]>,
): Promise<readonly TaskResult[]> {
  const hooks = installed.flatMap((i) =>
    i.enqueue
      ? [(n: number, inner: () => Promise<readonly TaskResult[]>) => i.enqueue!(task, n, inner)]
      : [],
  );
  return wrapped(hooks, count, enqueue, `the enqueue of task '${task.name}'`);
}

/** Run one attempt through the added `attempt` hooks. */
export function instrumentAttempt(
  running: TaskResult,
  attempt: () => Promise<TaskResult>,
): Promise<TaskResult> {
  const hooks = installed.flatMap((i) => (i.attempt ? [i.attempt.bind(i)] : []));
  return wrapped(hooks, running, attempt, `an attempt of task id=${running.id}`);
}

/**
 * Run the call of the function of `running`, made elsewhere than its attempt (a worker
 * thread), through the added `execute` hooks, with the attempt's `attemptMetadata`.
 */
export function instrumentExecution(
  running: TaskResult,
  attemptMetadata: TaskMetadata,
  execute: () => Promise<JsonValue>,
): Promise<JsonValue> {
  const hooks = installed.flatMap((i) =>
    i.execute
      ? [
          (metadata: TaskMetadata, inner: () => Promise<JsonValue>) =>
            i.execute!(running, metadata, inner),
        ]
      : [],
  );
  return wrapped(hooks, attemptMetadata, execute, `the function of task id=${running.id}`);
}

/**
 * What the `metadata` hooks return now for an attempt of `task` whose function runs
 * elsewhere: call it inside the attempt (where the `attempt` hooks made their context
 * active) and hand it to {@link instrumentExecution} where the function runs.
 */
export function attemptMetadata(task: AnyTask): TaskMetadata {
  return newTaskMetadata(task);
}

/** The metadata of a new result of `task`: `given`, plus what the `metadata` hooks add. */
export function newTaskMetadata(task: AnyTask, given?: Record<string, string>): TaskMetadata {
  if (installed.length === 0) return given === undefined ? NO_METADATA : checkTaskMetadata(given);
  let metadata: Record<string, string> = { ...given };
  for (const instrumentation of installed) {
    let added: Record<string, string> | undefined;
    try {
      added = instrumentation.metadata?.(task);
    } catch (error) {
      getTaskLogger().error(
        `task instrumentation failed adding metadata for task '${task.name}'`,
        error,
      );
    }
    if (added) metadata = { ...metadata, ...added };
  }
  return checkTaskMetadata(metadata);
}
