/**
 * Issue 8: the configuration loses a queue while a retry of a task on it waits. A
 * ThreadPoolBackend keeps its tasks in memory, so a new configuration is a new backend: the
 * old one is closed, and the waiting retry is reported lost by id (it does not end with an
 * error: nothing of this backend survives its configuration). The process goes on, the
 * retry's rebuild did not re-validate (no throw), and the new backend refuses the lost queue.
 */
import { describe, expect, it } from 'vitest';
import {
  configureTasks,
  InvalidTask,
  taskBackends,
  TaskResultDoesNotExist,
  TaskResultStatus,
} from '@djtasks/tasks';
import { waitForResult } from '@djtasks/tasks/testing';
import { ThreadPoolBackend } from '@djtasks/backend-local';
import { echoText, failsOnceRetriesLate, THREAD_TASKS_MODULE } from './fixtures/thread-tasks.ts';
import { recordingLogger } from './helpers.ts';

function configure(queues: string[], logger: ReturnType<typeof recordingLogger>): void {
  configureTasks({
    backends: {
      default: { backend: ThreadPoolBackend, queues, options: { maxWorkers: 1 } },
    },
    taskModules: [THREAD_TASKS_MODULE],
    logger,
  });
}

describe('ThreadPoolBackend reconfigured without the queue of a waiting retry', () => {
  it('reports the retry lost by id, refuses the queue, and goes on with the others', async () => {
    const logger = recordingLogger();
    configure(['default', 'reports'], logger);
    const result = await failsOnceRetriesLate.using({ queueName: 'reports' }).enqueue();
    await waitForResult(result, {
      timeoutMs: 30_000,
      until: (r) => r.status === TaskResultStatus.READY && r.attempts === 1,
    });
    expect(result.task.runAfter).not.toBeNull();
    const old = taskBackends.get('default');

    configure(['default'], logger);
    await old.close(); // started by configureTasks; wait for it
    const lost = logger.lines.find((line) => line.text.includes('they are lost'));
    expect(lost?.level).toBe('warn');
    expect(lost?.text).toContain(`backendLocal.failsOnceRetriesLate id=${result.id}`);
    expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);
    // The new backend never knew it, and refuses the queue for new tasks.
    await expect(result.refresh()).rejects.toBeInstanceOf(TaskResultDoesNotExist);
    expect(() => failsOnceRetriesLate.using({ queueName: 'reports' })).toThrow(InvalidTask);
    const later = await echoText.enqueue('still running');
    await waitForResult(later, { timeoutMs: 30_000 });
    expect(later.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(later.returnValue).toBe('still running');
  }, 60_000);
});
