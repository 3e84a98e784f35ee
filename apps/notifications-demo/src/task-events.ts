/**
 * With `LOG_TASKS` on (what `./dev demo` sets), one line per task event on standard output,
 * from whichever process or thread runs the task: "task started …" and "task finished …".
 */
import { taskFinished, taskStarted, type TaskSignalPayload } from '@djtasks/tasks';
import { settings } from './settings.ts';

function describe({ taskResult }: TaskSignalPayload): string {
  const name = taskResult.task.name.replace(/^notifications\./, '');
  return `${name} id=${taskResult.id.slice(0, 8)}`;
}

/** Print task events, once per process or thread (repeated calls do nothing). */
let connected = false;
export function logTaskEvents(): void {
  if (connected || !settings.LOG_TASKS) return;
  connected = true;
  taskStarted.connect(function printTaskStarted(payload) {
    const attempt =
      payload.taskResult.attempts > 1 ? ` (attempt ${payload.taskResult.attempts})` : '';
    console.log(`task started  ${describe(payload)}${attempt}`);
  });
  taskFinished.connect(function printTaskFinished(payload) {
    const { taskResult } = payload;
    const took =
      taskResult.startedAt && taskResult.finishedAt
        ? ` in ${taskResult.finishedAt.getTime() - taskResult.startedAt.getTime()} ms`
        : '';
    const error =
      taskResult.status === 'FAILED' ? `: ${taskResult.errors.at(-1)?.message ?? ''}` : '';
    console.log(`task finished ${describe(payload)} ${taskResult.status}${took}${error}`);
  });
}
