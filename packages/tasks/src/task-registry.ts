import { InvalidTask } from './exceptions.ts';
import type { AnyTask } from './task.ts';

interface Entry {
  task: AnyTask;
  definedAt: string;
}

const tasksByName = new Map<string, Entry>();

/**
 * Record `task` under its name. A second, different definition under the same name is an
 * error that names both; the same definition evaluated again (a module re-imported) replaces it.
 */
export function registerTask(task: AnyTask, definedAt: string): void {
  const existing = tasksByName.get(task.name);
  if (existing && existing.definedAt !== definedAt) {
    throw new InvalidTask(
      `Task name '${task.name}' is already used by the task defined at ${existing.definedAt}; ` +
        `the task defined at ${definedAt} needs another name (set it with task({ name }, fn)).`,
    );
  }
  tasksByName.set(task.name, { task, definedAt });
}

/** The task defined under `name` in this process (or thread), if any. */
export function getRegisteredTask(name: string): AnyTask | undefined {
  return tasksByName.get(name)?.task;
}

/** The names of every task defined in this process (or thread), sorted. */
export function registeredTaskNames(): string[] {
  return [...tasksByName.keys()].sort();
}
