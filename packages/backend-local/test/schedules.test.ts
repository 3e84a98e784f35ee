import { describe, expect, it } from 'vitest';
import { configureTasks, taskBackends, taskFinished, type TaskSignalPayload } from '@djtasks/tasks';
import { FIXTURES_MODULE } from '@djtasks/tasks/testing';
import { ThreadPoolBackend } from '@djtasks/backend-local';
import './helpers.ts';

describe('ThreadPoolBackend schedules', () => {
  it('enqueues each tick of a schedule from the main thread until close()', async () => {
    configureTasks({
      backends: { default: { backend: ThreadPoolBackend, options: { maxWorkers: 1 } } },
      taskModules: [FIXTURES_MODULE],
      schedules: { tick: { task: 'djtasks.fixtures.noop', cron: '* * * * * *' } },
    });
    const keys: string[] = [];
    const done = new Promise<void>((resolve) => {
      const receiver = ({ taskResult }: TaskSignalPayload) => {
        keys.push(taskResult.task.uniqueKey!);
        if (keys.length === 2) {
          taskFinished.disconnect(receiver);
          resolve();
        }
      };
      taskFinished.connect(receiver);
    });
    const backend = taskBackends.get('default') as ThreadPoolBackend;
    await done;
    expect(new Set(keys).size).toBe(2);
    expect(keys[0]).toMatch(/^schedule:tick:/);
    await backend.close();
    const after = backend.stats.results;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(backend.stats.results).toBe(after);
  });
});
