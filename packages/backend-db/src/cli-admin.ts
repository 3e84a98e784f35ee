/**
 * The `djtasks list | show | retry | cancel | delete` commands: argument parsing and output
 * (tables for people, `--json` for scripts) over the task admin API of `task-admin.ts`.
 */
import { parseArgs } from 'node:util';
import {
  TaskException,
  taskBackends,
  TaskResultDoesNotExist,
  TaskResultStatus,
} from '@djtasks/tasks';
import { DatabaseBackend } from './backend.ts';
import {
  cancelResult,
  deleteResult,
  getResultDetail,
  listResults,
  retryResult,
  type TaskResultDetail,
  type TaskResultSummary,
} from './task-admin.ts';

/** A command line the admin commands cannot use; `djtasks` prints it and exits 2. */
export class AdminUsageError extends Error {
  override name = 'AdminUsageError';
}

/** The `--help` text of each admin command. */
export const ADMIN_HELP: Record<string, string> = {
  list: `Usage: djtasks list [options]

List task results, newest enqueued first.

Options:
  --status S[,S…]   READY, RUNNING, SUCCESSFUL, FAILED, CANCELLED
  --queue Q[,Q…]    only these queues
  --task NAME[,…]   only these tasks (e.g. app.tasks.sendEmail)
  --worker ID       only results a worker with this id ran or runs
  --error TEXT      only results with an error containing TEXT (any case)
  --limit N         at most N results (1 to 1000, default 20)
  --after CURSOR    the next page (the cursor a previous list printed)
  --backend NAME    the database backend (default: default)
  --json            print {"results": [...], "next": cursor|null} as JSON`,
  show: `Usage: djtasks show ID [--json] [--backend NAME]

Show one task result: arguments, return value, every attempt with its worker, and every
error with its traceback.`,
  retry: `Usage: djtasks retry ID... [--json] [--backend NAME]

Retry FAILED or CANCELLED results: each becomes READY for one more attempt, keeping its
history. Exits 1 if any id could not be retried (unknown, or in another status).`,
  cancel: `Usage: djtasks cancel ID... [--json] [--backend NAME]

Cancel READY or RUNNING results (a running one stops within about a second). Exits 1 if
any id could not be cancelled (unknown, or already SUCCESSFUL or FAILED).`,
  delete: `Usage: djtasks delete ID... [--json] [--backend NAME]

Delete results that are not RUNNING (cancel those first). Exits 1 if any id could not be
deleted.`,
};

function backendNamed(alias: string): DatabaseBackend {
  const backend = taskBackends.get(alias);
  if (!(backend instanceof DatabaseBackend)) {
    throw new AdminUsageError(
      `Backend '${alias}' is not a database backend (it is ${backend.constructor.name}).`,
    );
  }
  return backend;
}

function csv(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

const iso = (date: Date | null) => (date ? date.toISOString().replace(/\.\d+Z$/, 'Z') : '-');

function cell(text: string, width: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > width ? `${oneLine.slice(0, width - 1)}…` : oneLine.padEnd(width);
}

/** A table: columns as wide as their widest cell, up to each column's limit. */
function table(header: string[], rows: string[][], limits: number[]): string {
  const widths = header.map((h, i) =>
    Math.min(limits[i] ?? 80, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))),
  );
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => cell(c, widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function summaryRow(r: TaskResultSummary): string[] {
  return [
    r.id,
    r.status,
    r.queueName,
    r.taskName,
    String(r.attempts),
    iso(r.enqueuedAt),
    iso(r.finishedAt),
    r.lastError ? `${r.lastError.exceptionClassPath}: ${r.lastError.message}` : '',
  ];
}

async function runList(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: 'default' },
      status: { type: 'string' },
      queue: { type: 'string' },
      task: { type: 'string' },
      worker: { type: 'string' },
      error: { type: 'string' },
      limit: { type: 'string', default: '20' },
      after: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const limit = Number(values.limit);
  if (values.limit.trim() === '' || !Number.isInteger(limit)) {
    throw new AdminUsageError(
      `--limit: must be a whole number from 1 to 1000 (got '${values.limit}').`,
    );
  }
  const statuses = csv(values.status)?.map((s) => s.toUpperCase());
  const page = await listResults(backendNamed(values.backend), {
    status: statuses as TaskResultStatus[] | undefined,
    queue: csv(values.queue),
    taskName: csv(values.task),
    workerId: values.worker,
    errorText: values.error,
    limit,
    after: values.after,
  });
  if (values.json) {
    console.log(JSON.stringify(page, null, 2));
    return 0;
  }
  if (page.results.length === 0) {
    console.log('No task results match.');
    return 0;
  }
  console.log(
    table(
      ['ID', 'STATUS', 'QUEUE', 'TASK', 'ATTEMPTS', 'ENQUEUED', 'FINISHED', 'LAST ERROR'],
      page.results.map(summaryRow),
      [40, 10, 20, 40, 8, 20, 20, 60],
    ),
  );
  if (page.next) console.log(`\nMore: add --after ${page.next}`);
  return 0;
}

function printDetail(d: TaskResultDetail): void {
  const lines = [
    `Task result ${d.id}`,
    `  task:        ${d.taskName}`,
    `  queue:       ${d.queueName} (priority ${d.priority})`,
    `  status:      ${d.status}${d.cancelRequestedAt ? ` (cancel requested ${iso(d.cancelRequestedAt)})` : ''}`,
    `  enqueued:    ${iso(d.enqueuedAt)}`,
    `  run after:   ${iso(d.runAfter)}`,
    `  started:     ${iso(d.startedAt)}`,
    `  finished:    ${iso(d.finishedAt)}`,
    `  arguments:   ${d.args === null ? '(unreadable)' : JSON.stringify(d.args)}`,
  ];
  if (d.status === TaskResultStatus.SUCCESSFUL)
    lines.push(`  return value: ${JSON.stringify(d.returnValue ?? null)}`);
  lines.push(`  attempts:    ${d.attempts}`);
  for (const a of d.attemptList) {
    lines.push(`    #${a.number} on ${a.workerId ?? '?'}${a.running ? ' (running)' : ''}`);
  }
  lines.push(`  errors:      ${d.errors.length === 0 ? 'none' : d.errors.length}`);
  d.errors.forEach((e, i) => {
    lines.push(`    [${i + 1}] ${e.exceptionClassPath}: ${e.message}`);
    for (const line of e.traceback.split('\n')) lines.push(`        ${line}`);
  });
  console.log(lines.join('\n'));
}

async function runShow(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      backend: { type: 'string', default: 'default' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1)
    throw new AdminUsageError(`show takes one task result id (got ${positionals.length}).`);
  let detail;
  try {
    detail = await getResultDetail(backendNamed(values.backend), positionals[0]!);
  } catch (error) {
    if (!(error instanceof TaskResultDoesNotExist)) throw error;
    console.error(`djtasks show: ${error.name}: no task result '${positionals[0]}'`);
    return 1;
  }
  if (values.json) console.log(JSON.stringify(detail, null, 2));
  else printDetail(detail);
  return 0;
}

type Action = (backend: DatabaseBackend, id: string) => Promise<TaskResultDetail | void>;

/** Apply `action` to each id; a named refusal of one id is reported and the others go on. */
function eachId(verb: string, past: string, action: Action) {
  return async (args: string[]): Promise<number> => {
    const { values, positionals } = parseArgs({
      args,
      options: {
        backend: { type: 'string', default: 'default' },
        json: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length === 0)
      throw new AdminUsageError(`${verb} takes one or more task result ids.`);
    const backend = backendNamed(values.backend);
    const outcomes: { id: string; ok: boolean; status?: string; error?: object }[] = [];
    for (const id of positionals) {
      try {
        const detail = await action(backend, id);
        outcomes.push({ id, ok: true, ...(detail ? { status: detail.status } : {}) });
        if (!values.json) console.log(`${past} ${id}${detail ? ` (now ${detail.status})` : ''}`);
      } catch (error) {
        if (!(error instanceof TaskException)) throw error;
        outcomes.push({ id, ok: false, error: { name: error.name, message: error.message } });
        if (!values.json) console.error(`djtasks ${verb}: ${error.name}: ${error.message}`);
      }
    }
    if (values.json) console.log(JSON.stringify(outcomes, null, 2));
    return outcomes.every((o) => o.ok) ? 0 : 1;
  };
}

/** The admin commands, by name, for `djtasks`. */
export const ADMIN_COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  list: runList,
  show: runShow,
  retry: eachId('retry', 'retried', retryResult),
  cancel: eachId('cancel', 'cancelled', cancelResult),
  delete: eachId('delete', 'deleted', deleteResult),
};
