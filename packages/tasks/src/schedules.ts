/**
 * Periodic tasks: the `schedules` of the tasks configuration, checked once, and the ticks each
 * one is due at. Cron expressions are parsed and stepped by `cron-parser` (maintained, used by
 * BullMQ's job schedulers, time zones through Luxon): a cron library gets the calendar, DST and
 * day-of-month/day-of-week rules right, which a hand-written parser would have to relearn.
 * Across DST it fires a tick that falls in the skipped hour once, an hour later, and a tick
 * in the repeated hour once, at its first occurrence.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { InvalidSchedule } from './exceptions.ts';
import { normalizeArgs } from './json.ts';
import type { JsonValue } from './json.ts';
import type { AnyTask } from './task.ts';
import { getRegisteredTask, registeredTaskNames } from './task-registry.ts';

/** What to do with ticks that fell due while nothing was running the schedule. */
export type ScheduleCatchUp = 'skip' | { fill: number };

/** One periodic task in `defineConfig({ schedules: { name: … } })`. */
export interface ScheduleConfig {
  /** The registered name of the task to enqueue. */
  task: string;
  /**
   * A cron expression: five fields (minute hour day-of-month month day-of-week), or six with
   * seconds first (`*\/5 * * * * *`).
   */
  cron: string;
  /** The IANA time zone the expression is read in. @defaultValue "UTC" */
  timezone?: string;
  /** The arguments each run is enqueued with. @defaultValue [] */
  args?: readonly JsonValue[];
  /**
   * Ticks missed while no scheduler ran (more than `graceSeconds` late): `'skip'` drops them;
   * `{ fill: N }` enqueues the N most recent of them. @defaultValue "skip"
   */
  catchUp?: ScheduleCatchUp;
  /** How late a tick may still be enqueued under any policy, in seconds. @defaultValue 60 */
  graceSeconds?: number;
}

/** A checked schedule. */
export interface Schedule {
  readonly name: string;
  readonly task: string;
  readonly cron: string;
  readonly timezone: string;
  readonly args: readonly JsonValue[];
  readonly catchUp: ScheduleCatchUp;
  readonly graceSeconds: number;
}

const SCHEDULE_KEYS = ['task', 'cron', 'timezone', 'args', 'catchUp', 'graceSeconds'];
/** The most ticks one pass enqueues for one schedule under `{ fill }`. */
export const MAX_SCHEDULE_FILL = 1000;

function parse(schedule: Pick<Schedule, 'cron' | 'timezone'>, currentDate: Date): CronExpression {
  return CronExpressionParser.parse(schedule.cron, { currentDate, tz: schedule.timezone });
}

/** Check one entry of `schedules`; throws `InvalidSchedule` naming the schedule and the value. */
export function checkSchedule(name: string, raw: unknown): Schedule {
  const bad = (message: string, cause?: unknown): InvalidSchedule =>
    new InvalidSchedule(name, `Schedule '${name}': ${message}`, { cause });
  if (name === '' || [...name].length > 200) {
    throw bad(`a schedule name must be 1 to 200 characters (got ${[...name].length}).`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw bad(`must be an object like { task: 'sendDigest', cron: '0 8 * * *' }.`);
  }
  const entry = raw as Record<string, unknown>;
  for (const key of Object.keys(entry)) {
    if (!SCHEDULE_KEYS.includes(key)) {
      throw bad(`unknown option '${key}' (accepted: ${SCHEDULE_KEYS.join(', ')}).`);
    }
  }
  if (typeof entry.task !== 'string' || entry.task === '') {
    throw bad(`task must be a task name (got ${JSON.stringify(entry.task) ?? 'nothing'}).`);
  }
  const timezone = entry.timezone ?? 'UTC';
  try {
    if (typeof timezone !== 'string') throw new TypeError('not a string');
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch (error) {
    throw bad(
      `timezone must be an IANA time zone like 'Europe/Paris' (got ${JSON.stringify(timezone)}).`,
      error,
    );
  }
  if (typeof entry.cron !== 'string') {
    throw bad(
      `cron must be a cron expression string (got ${JSON.stringify(entry.cron) ?? 'nothing'}).`,
    );
  }
  const fields = entry.cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw bad(
      `cron must have 5 fields, or 6 with seconds first (got '${entry.cron}', ${fields} fields).`,
    );
  }
  try {
    parse({ cron: entry.cron, timezone }, new Date()).next();
  } catch (error) {
    throw bad(
      `cron '${entry.cron}' is not a valid cron expression: ${(error as Error).message}.`,
      error,
    );
  }
  const catchUp = entry.catchUp ?? 'skip';
  const fill = (catchUp as { fill?: unknown }).fill;
  if (
    catchUp !== 'skip' &&
    !(
      typeof catchUp === 'object' &&
      Object.keys(catchUp).join() === 'fill' &&
      typeof fill === 'number' &&
      Number.isInteger(fill) &&
      fill >= 1 &&
      fill <= MAX_SCHEDULE_FILL
    )
  ) {
    throw bad(
      `catchUp must be 'skip' or { fill: N } with N a whole number from 1 to ${MAX_SCHEDULE_FILL} (got ${JSON.stringify(catchUp)}).`,
    );
  }
  const graceSeconds = entry.graceSeconds ?? 60;
  if (typeof graceSeconds !== 'number' || !Number.isFinite(graceSeconds) || graceSeconds < 0) {
    throw bad(
      `graceSeconds must be a number of seconds, 0 or more (got ${JSON.stringify(graceSeconds)}).`,
    );
  }
  let args: JsonValue[];
  try {
    if (!Array.isArray(entry.args ?? [])) throw new TypeError('not an array');
    args = normalizeArgs((entry.args ?? []) as unknown[]);
  } catch (error) {
    throw bad(`args must be an array of JSON values: ${(error as Error).message}`, error);
  }
  return Object.freeze({
    name,
    task: entry.task,
    cron: entry.cron,
    timezone,
    args: Object.freeze(args),
    catchUp: catchUp as ScheduleCatchUp,
    graceSeconds,
  });
}

/** Check the `schedules` of a configuration. */
export function checkSchedules(raw: unknown): readonly Schedule[] {
  if (raw === undefined) return [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidSchedule(
      '',
      `The tasks configuration's schedules must be an object of schedules by name (got ${JSON.stringify(raw)}).`,
    );
  }
  return Object.entries(raw).map(([name, entry]) => checkSchedule(name, entry));
}

/**
 * The task `schedule` enqueues; throws `InvalidSchedule` listing the defined tasks when no
 * loaded module defines it (call it once the task modules are loaded).
 */
export function scheduledTask(schedule: Schedule, taskModules: readonly string[] = []): AnyTask {
  const found = getRegisteredTask(schedule.task);
  if (found) return found;
  const known = registeredTaskNames();
  throw new InvalidSchedule(
    schedule.name,
    `Schedule '${schedule.name}' enqueues task '${schedule.task}', which no loaded module defines ` +
      `(task modules: ${taskModules.length ? taskModules.join(', ') : 'none configured'}; ` +
      `tasks defined: ${known.length ? known.join(', ') : 'none'}).`,
  );
}

/**
 * The unique key of the task a tick enqueues, `schedule:<name>:<tick as ISO 8601>`: it names
 * the tick a task is for, and keeps a second enqueue of one tick from queueing another task.
 */
export function tickKey(schedule: Schedule, tick: Date): string {
  return `schedule:${schedule.name}:${tick.toISOString()}`;
}

/** The first tick of `schedule` strictly after `after`. */
export function nextTick(schedule: Schedule, after: Date): Date {
  return parse(schedule, after).next().toDate();
}

/**
 * The ticks of `schedule` to enqueue now, oldest first: those after `last` (the last tick
 * enqueued) up to `now` that are at most `graceSeconds` late, and under `{ fill: N }` also the
 * N most recent older ones.
 */
export function ticksDue(schedule: Schedule, last: Date, now: Date): Date[] {
  const graceStart = new Date(
    Math.max(last.getTime(), now.getTime() - schedule.graceSeconds * 1000),
  );
  const recent: Date[] = [];
  // Start just before the grace window so a tick exactly at its start is included.
  const forward = parse(schedule, new Date(graceStart.getTime() - 1));
  for (;;) {
    const tick = forward.next().toDate();
    if (tick > now) break;
    if (tick > last) recent.push(tick);
  }
  const older: Date[] = [];
  if (schedule.catchUp !== 'skip' && graceStart > last) {
    const { fill } = schedule.catchUp;
    // Step back `fill` ticks to find where to start, then step forward from two hours before
    // that: cron-parser's prev() can skip a tick next() gives across a DST change, so only
    // next() decides which ticks exist, and the two hours keep the walk short after a long stop.
    const backward = parse(schedule, graceStart);
    let from = graceStart.getTime();
    for (let i = 0; i < fill; i++) {
      from = backward.prev().toDate().getTime();
      if (from <= last.getTime()) break;
    }
    const walk = parse(schedule, new Date(Math.max(last.getTime(), from - 2 * 3_600_000)));
    for (;;) {
      const tick = walk.next().toDate();
      if (tick >= graceStart) break;
      if (tick <= last) continue;
      older.push(tick);
      if (older.length > fill) older.shift();
    }
  }
  return [...older, ...recent];
}
