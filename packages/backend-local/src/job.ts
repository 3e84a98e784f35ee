/** One enqueued task of a `ThreadPoolBackend`, as it moves through the queues and the threads. */
import { TaskTimeout, type JsonValue, type TaskResult } from '@djtasks/tasks';
import { taskResultToData, type TaskResultData } from '@djtasks/tasks/backend';
import type { PoolJob } from './pool.ts';
import type { StopReason } from './protocol.ts';

/** Where a job is: a queue, a thread that holds it, a running attempt, cancelled, or finished. */
export type JobState = 'ready' | 'deferred' | 'held' | 'running' | 'cancelled' | 'finished';

/** One enqueued task on its way through the queues and the threads. */
export class Job implements PoolJob {
  /** The result in its latest state. */
  result: TaskResult;
  /** Order of arrival, for first in first out within a priority. */
  seq: number;
  /** When it may run (epoch ms); 0 when it may run now. */
  due: number;
  state: JobState = 'ready';
  /** Settles the running attempt's `execute` with the thread's outcome. */
  outcome: PromiseWithResolvers<JsonValue> | undefined;

  constructor(result: TaskResult, seq: number) {
    this.result = result;
    this.seq = seq;
    this.due = result.task.runAfter?.getTime() ?? 0;
  }

  get id(): string {
    return this.result.id;
  }

  get name(): string {
    return this.result.task.name;
  }

  get priority(): number {
    return this.result.task.priority;
  }

  message(): TaskResultData {
    return taskResultToData(this.result);
  }
}

/** Why an attempt's signal aborted, as the thread is told. */
export function stopReasonOf(reason: Error): StopReason {
  return reason instanceof TaskTimeout
    ? { kind: 'timeout', timeout: reason.timeout }
    : { kind: 'cancel' };
}
