import { afterEach, describe, expect, it } from 'vitest';
import {
  configureTasks,
  defineConfig,
  ImmediateBackend,
  InvalidSchedule,
  task,
  taskBackends,
  TaskResultStatus,
  taskFinished,
  type TaskResult,
} from '@djtasks/tasks';
import { checkSchedule, nextTick, ticksDue } from '@djtasks/tasks/backend';

afterEach(async () => {
  await taskBackends.close();
  configureTasks();
});

const at = (iso: string) => new Date(iso);

describe('schedule configuration', () => {
  it('refuses a bad cron expression, time zone, catch-up or argument, naming the schedule and the value', () => {
    const config = (schedule: Record<string, unknown>) =>
      defineConfig({
        backends: { default: { backend: ImmediateBackend } },
        schedules: { digest: { task: 'sendDigest', cron: '0 8 * * *', ...schedule } },
      });
    expect(() => config({ cron: '61 8 * * *' })).toThrow(
      /Schedule 'digest': cron '61 8 \* \* \*' is not a valid cron expression: .*61/,
    );
    expect(() => config({ cron: '* * *' })).toThrow(
      "Schedule 'digest': cron must have 5 fields, or 6 with seconds first (got '* * *', 3 fields).",
    );
    expect(() => config({ timezone: 'Mars/Olympus' })).toThrow(
      `Schedule 'digest': timezone must be an IANA time zone like 'Europe/Paris' (got "Mars/Olympus").`,
    );
    expect(() => config({ catchUp: { fill: 0 } })).toThrow(
      /catchUp must be 'skip' or \{ fill: N \}/,
    );
    expect(() => config({ args: [new Map()] })).toThrow(/args must be an array of JSON values/);
    expect(() => config({ every: 5 })).toThrow("Schedule 'digest': unknown option 'every'");
    const error = (() => {
      try {
        configureTasks({
          backends: { default: { backend: ImmediateBackend } },
          schedules: { digest: { task: 'sendDigest', cron: 'nope nope nope nope nope' } },
        });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidSchedule);
    expect((error as InvalidSchedule).schedule).toBe('digest');
  });

  it('accepts six fields with seconds, and defaults to UTC, no arguments, skip and 60 s of grace', () => {
    const schedule = checkSchedule('s', { task: 't', cron: '*/15 * * * * *' });
    expect(schedule).toMatchObject({
      timezone: 'UTC',
      args: [],
      catchUp: 'skip',
      graceSeconds: 60,
    });
    expect(nextTick(schedule, at('2026-01-01T00:00:01Z'))).toEqual(at('2026-01-01T00:00:15Z'));
  });
});

describe('ticks due', () => {
  const everyMinute = (extra: Record<string, unknown> = {}) =>
    checkSchedule('m', { task: 't', cron: '* * * * *', ...extra });

  it('fires the ticks since the last one that are within the grace, dropping older ones under skip', () => {
    const now = at('2026-01-01T10:00:30Z');
    expect(ticksDue(everyMinute({ graceSeconds: 120 }), at('2026-01-01T09:58:00Z'), now)).toEqual([
      at('2026-01-01T09:59:00Z'),
      at('2026-01-01T10:00:00Z'),
    ]);
    // 09:59 is 90 s late: past the default grace of 60 s.
    expect(ticksDue(everyMinute(), at('2026-01-01T09:58:00Z'), now)).toEqual([
      at('2026-01-01T10:00:00Z'),
    ]);
    // Down for an hour: only the tick within the 60 s grace.
    expect(ticksDue(everyMinute(), at('2026-01-01T09:00:00Z'), now)).toEqual([
      at('2026-01-01T10:00:00Z'),
    ]);
    expect(ticksDue(everyMinute(), at('2026-01-01T10:00:00Z'), now)).toEqual([]);
  });

  it('fills the N most recent missed ticks under { fill: N }, never one at or before the last', () => {
    const now = at('2026-01-01T10:00:30Z');
    expect(
      ticksDue(everyMinute({ catchUp: { fill: 3 } }), at('2026-01-01T09:00:00Z'), now),
    ).toEqual([
      at('2026-01-01T09:57:00Z'),
      at('2026-01-01T09:58:00Z'),
      at('2026-01-01T09:59:00Z'),
      at('2026-01-01T10:00:00Z'),
    ]);
    expect(
      ticksDue(everyMinute({ catchUp: { fill: 3 } }), at('2026-01-01T09:57:30Z'), now),
    ).toEqual([at('2026-01-01T09:58:00Z'), at('2026-01-01T09:59:00Z'), at('2026-01-01T10:00:00Z')]);
  });

  it('fires a daily 02:30 in Europe/Paris once a day across both DST changes of 2026', () => {
    const daily = checkSchedule('d', {
      task: 't',
      cron: '30 2 * * *',
      timezone: 'Europe/Paris',
      catchUp: { fill: 10 },
    });
    const ticks = (from: string, to: string) =>
      ticksDue(daily, at(from), at(to)).map((tick) => tick.toISOString());
    // 29 March: 02:00 jumps to 03:00, so 02:30 does not exist; it fires once, at 03:30 CEST.
    expect(ticks('2026-03-27T12:00:00Z', '2026-03-31T12:00:00Z')).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET (UTC+1)
      '2026-03-29T01:30:00.000Z', // 03:30 CEST: the skipped hour
      '2026-03-30T00:30:00.000Z', // 02:30 CEST (UTC+2)
      '2026-03-31T00:30:00.000Z',
    ]);
    // 25 October: 03:00 goes back to 02:00, so 02:30 happens twice; it fires once, the first time.
    expect(ticks('2026-10-23T12:00:00Z', '2026-10-27T12:00:00Z')).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // the first 02:30 (CEST), not the second (01:30Z, CET)
      '2026-10-26T01:30:00.000Z', // 02:30 CET (UTC+1)
      '2026-10-27T01:30:00.000Z',
    ]);
  });
});

describe('in-process scheduler', () => {
  it('ImmediateBackend runs a schedule from the time it is created until close(), each tick once', async () => {
    const runs: string[] = [];
    task({ name: 'tests.schedules.tick', takesContext: true }, (context) => {
      runs.push(context.taskResult.task.uniqueKey!);
    });
    configureTasks({
      backends: { default: { backend: ImmediateBackend } },
      schedules: { tick: { task: 'tests.schedules.tick', cron: '* * * * * *' } },
    });
    const finished: TaskResult[] = [];
    const receiver = ({ taskResult }: { taskResult: TaskResult }) => {
      finished.push(taskResult);
    };
    taskFinished.connect(receiver);
    try {
      taskBackends.get('default');
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (finished.length >= 2) {
            clearInterval(check);
            resolve();
          }
        }, 20);
      });
      await taskBackends.close();
      const count = runs.length;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(runs).toHaveLength(count);
      expect(new Set(runs).size).toBe(runs.length);
      expect(runs[0]).toMatch(/^schedule:tick:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
      expect(finished.every((result) => result.status === TaskResultStatus.SUCCESSFUL)).toBe(true);
    } finally {
      taskFinished.disconnect(receiver);
    }
  });
});
