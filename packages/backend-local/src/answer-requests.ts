/**
 * In the main thread: what the worker threads need to enqueue tasks on the configured
 * backends, and the answers to their requests (see `forwarding.ts` for the thread's side).
 */
import { InvalidTask, taskBackends, type Task } from '@djtasks/tasks';
import {
  getRegisteredTask,
  loadTaskModules,
  taskResultToData,
  type TaskResultData,
} from '@djtasks/tasks/backend';
import type { ForwardedRequest, MirroredBackend } from './protocol.ts';

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
        supportsTimeout: backend.supportsTimeout,
        supportsCancel: backend.supportsCancel,
        supportsUniqueKey: backend.supportsUniqueKey,
      };
    } catch (error) {
      mirrored[alias] = {
        className: taskBackends.config.backends[alias]?.backend.name ?? 'unknown',
        queues: [],
        supportsDefer: false,
        supportsPriority: false,
        supportsGetResult: false,
        supportsRetries: false,
        supportsTimeout: false,
        supportsCancel: false,
        supportsUniqueKey: false,
        unavailable: error instanceof Error ? error.message : String(error),
      };
    }
  }
  return mirrored;
}

/** The imports of the configured task modules, started at most once per list of modules. */
const imports = new Map<string, Promise<string[]>>();

async function findTask(name: string): Promise<Task> {
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
export async function answerRequest(request: ForwardedRequest): Promise<TaskResultData[]> {
  switch (request.kind) {
    case 'enqueue': {
      const { overrides } = request;
      const registered = await findTask(request.name);
      const task = registered.using({
        priority: overrides.priority,
        queueName: overrides.queueName,
        runAfter: overrides.runAfter === null ? null : new Date(overrides.runAfter),
        backend: overrides.backend,
        uniqueKey: overrides.uniqueKey,
      });
      const results = request.many
        ? await task.enqueueMany(request.argsList)
        : [await task.enqueue(...request.argsList[0]!)];
      return results.map((result) => taskResultToData(result));
    }
    case 'getResult':
      return [taskResultToData(await taskBackends.get(request.backend).getResult(request.id))];
    case 'cancel':
      return [taskResultToData(await taskBackends.get(request.backend).cancel(request.id))];
  }
}
