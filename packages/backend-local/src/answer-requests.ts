/**
 * In the main thread: what the worker threads need to enqueue tasks on the configured
 * backends, and the answers to their requests (see `forwarding.ts` for the thread's side).
 */
import {
  InvalidTask,
  TaskError,
  TaskJsonError,
  TaskResultStatus,
  taskBackends,
  type TaskResult,
} from '@djtasks/tasks';
import { getRegisteredTask, loadTaskModules } from '@djtasks/tasks/backend';
import { overridesOf } from './forwarding.ts';
import type {
  ForwardedError,
  ForwardedRequest,
  MirroredBackend,
  ResultFields,
} from './protocol.ts';

/**
 * The capabilities and queues of every configured backend, by alias, creating each as
 * `taskBackends.get` does. A backend that cannot be created is marked unavailable with the reason.
 */
export function mirrorBackends(): Record<string, MirroredBackend> {
  const mirrored: Record<string, MirroredBackend> = {};
  for (const alias of taskBackends.aliases) {
    try {
      const backend = taskBackends.get(alias);
      mirrored[alias] = {
        className: backend.constructor.name,
        queues: [...backend.queues],
        supportsDefer: backend.supportsDefer,
        supportsPriority: backend.supportsPriority,
        supportsGetResult: backend.supportsGetResult,
        supportsRetries: backend.supportsRetries,
      };
    } catch (error) {
      mirrored[alias] = {
        className: taskBackends.config.backends[alias]?.backend.name ?? 'unknown',
        queues: [],
        supportsDefer: false,
        supportsPriority: false,
        supportsGetResult: false,
        supportsRetries: false,
        unavailable: error instanceof Error ? error.message : String(error),
      };
    }
  }
  return mirrored;
}

/** The imports of the configured task modules, started at most once per list of modules. */
const imports = new Map<string, Promise<string[]>>();

async function findTask(name: string) {
  const found = getRegisteredTask(name);
  if (found) return found;
  const modules = taskBackends.taskModules;
  const key = modules.join('\n');
  let loading = imports.get(key);
  if (!loading) imports.set(key, (loading = loadTaskModules(modules)));
  await loading;
  const loaded = getRegisteredTask(name);
  if (loaded) return loaded;
  throw new InvalidTask(
    `Task '${name}', enqueued from a worker thread, is not defined in the main thread, which ` +
      `imported ${modules.length === 0 ? 'no task modules' : `task modules ${modules.join(', ')}`}.`,
  );
}

/** Do what a task in a worker thread asked, on the main thread's configured backends. */
export async function answerRequest(request: ForwardedRequest): Promise<ResultFields[]> {
  switch (request.kind) {
    case 'enqueue': {
      const { overrides } = request;
      const registered = await findTask(request.name);
      const task = registered.using({
        priority: overrides.priority,
        queueName: overrides.queueName,
        runAfter: overrides.runAfter === null ? null : new Date(overrides.runAfter),
        backend: overrides.backend,
      });
      const results = request.many
        ? await task.enqueueMany(request.argsList)
        : [await task.enqueue(...request.argsList[0]!)];
      return results.map((result) => resultFields(result));
    }
    case 'getResult':
      return [resultFields(await taskBackends.get(request.backend).getResult(request.id))];
  }
}

function resultFields(result: TaskResult<any>): ResultFields {
  const { task } = result;
  return {
    id: result.id,
    name: task.name,
    overrides: overridesOf(task),
    status: result.status,
    enqueuedAt: result.enqueuedAt?.getTime() ?? null,
    startedAt: result.startedAt?.getTime() ?? null,
    finishedAt: result.finishedAt?.getTime() ?? null,
    lastAttemptedAt: result.lastAttemptedAt?.getTime() ?? null,
    args: result.args as ResultFields['args'],
    backend: result.backend,
    errors: result.errors.map((error) => error.toJSON()),
    workerIds: [...result.workerIds],
    ...(result.status === TaskResultStatus.SUCCESSFUL
      ? { returnValue: result.returnValue as ResultFields['returnValue'] }
      : {}),
  };
}

/** An error raised while answering a request, as data the thread rebuilds. */
export function forwardedError(error: unknown): ForwardedError {
  const fields: ForwardedError = TaskError.fromException(error).toJSON();
  if (error instanceof TaskJsonError) fields.path = error.path;
  return fields;
}
