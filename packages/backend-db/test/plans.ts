/**
 * The hot statements of the worker and the producer, each with representative parameters, for
 * the plan tests: the exact statement objects the code runs (`src/sql/*`), so a change to a
 * statement is checked as it ships.
 */
import { CLAIM_STATEMENTS, claimParams } from '../src/sql/claim.ts';
import { COMPLETE_STATEMENTS } from '../src/sql/complete.ts';
import { RENEW_LEASES, SELECT_CANCELLED } from '../src/sql/heartbeat.ts';
import { INSERT_STATEMENTS } from '../src/sql/insert.ts';
import { RECOVER_STATEMENTS } from '../src/sql/recover.ts';
import type { Statement } from '../src/sql/statement.ts';
import { TASK_RESULT_TABLE } from '../src/index.ts';

/** One statement to explain, and the index its plan must read the task table through. */
export interface HotStatement {
  label: string;
  statement: Statement;
  /** PostgreSQL parameters, as the code passes them. */
  pg: unknown[];
  /** SQLite parameters, as the code passes them (undefined: the statement is PostgreSQL's only). */
  sqlite?: unknown[];
  /**
   * The index (suffix after `djtasks_task_result_`) the task table must be read through, or
   * undefined where any index will do (statements off the hot path that read few rows).
   */
  index?: string;
}

const NOW = new Date('2026-12-01T12:00:00Z');
const LEASE = new Date(NOW.getTime() + 30_000);
const { PICK, SQLITE_MARK, RELEASE, NEXT_AVAILABLE } = CLAIM_STATEMENTS;
const { COMPLETE } = COMPLETE_STATEMENTS;
const { SELECT_EXPIRED, SELECT_ATTEMPTS, COMPLETE_RECOVERED, COMPLETE_EXPIRED } =
  RECOVER_STATEMENTS;

const claim = (queues: readonly string[] | '*', excludeQueues: readonly string[] = []) =>
  claimParams({ backendName: 'default', queues, excludeQueues }, 'worker-1', 50, NOW, LEASE);
const ids = ['r1', 'r2', 'r3'];
const tokens = ['t1', 't2', 't3'];
const outcomes = (dialect: 'postgresql' | 'sqlite') =>
  JSON.stringify(
    ids.map((id, i) => ({
      id,
      claim_token: tokens[i],
      status: 'SUCCESSFUL',
      finished_at: dialect === 'sqlite' ? NOW.getTime() : NOW.toISOString(),
      return_value: 'null',
      errors: '[]',
      worker_ids: '["worker-1"]',
      run_after: null,
      available_at: null,
    })),
  );
const recovered = (dialect: 'postgresql' | 'sqlite') => {
  const at = dialect === 'sqlite' ? NOW.getTime() : NOW;
  return ['READY', null, '[]', '["w"]', 'READY', null, at, 'x1', 'tok1'];
};

/** The claim, completion, recovery and heartbeat statements (and the producer's). */
export const HOT_STATEMENTS: HotStatement[] = [
  {
    label: 'claim, one queue',
    statement: PICK.oneQueue,
    pg: claim(['default']),
    sqlite: ['default', 'default', NOW.getTime(), 50],
    index: 'ready_queue_idx',
  },
  {
    label: 'claim, two queues',
    statement: PICK.someQueues,
    pg: claim(['default', 'emails']),
    index: 'ready_queue_idx',
  },
  {
    label: 'claim, every queue',
    statement: PICK.allQueues,
    pg: claim('*'),
    sqlite: ['default', '[]', NOW.getTime(), 50],
    index: 'ready_backend_idx',
  },
  {
    label: 'claim, every queue but one',
    statement: PICK.allQueues,
    pg: claim('*', ['emails']),
    sqlite: ['default', '["emails"]', NOW.getTime(), 50],
    index: 'ready_backend_idx',
  },
  {
    label: 'claim, marking the picked rows (SQLite)',
    statement: SQLITE_MARK,
    pg: [],
    sqlite: ['worker-1', LEASE.getTime(), NOW.getTime(), NOW.getTime(), JSON.stringify(ids)],
    index: 'pkey',
  },
  {
    label: 'release of unstarted claims',
    statement: RELEASE,
    pg: [
      JSON.stringify(ids.map((id, i) => ({ id, claim_token: tokens[i], started_at: null }))),
      ids,
    ],
    sqlite: [null, null, 'r1', 't1'],
    index: 'pkey',
  },
  {
    label: 'next deferred task, named queues',
    statement: NEXT_AVAILABLE.queues,
    pg: ['default', ['default']],
    sqlite: ['default', '["default"]'],
    index: 'ready_queue_idx',
  },
  {
    label: 'next deferred task, every queue',
    statement: NEXT_AVAILABLE.allQueues,
    pg: ['default', []],
    sqlite: ['default', '[]'],
  },
  {
    label: 'completion',
    statement: COMPLETE,
    pg: [outcomes('postgresql'), ids],
    sqlite: [outcomes('sqlite')],
    index: 'pkey',
  },
  {
    label: 'recovery: expired leases',
    statement: SELECT_EXPIRED,
    pg: ['default', NOW, 100],
    sqlite: ['default', NOW.getTime(), 100],
    index: 'running_idx',
  },
  {
    label: 'recovery: attempts by token',
    statement: SELECT_ATTEMPTS,
    pg: ['default', tokens],
    sqlite: ['default', JSON.stringify(tokens)],
  },
  {
    label: 'recovery: fenced end',
    statement: COMPLETE_RECOVERED,
    pg: recovered('postgresql'),
    sqlite: recovered('sqlite'),
    index: 'pkey',
  },
  {
    label: 'recovery: fenced end of an expired lease',
    statement: COMPLETE_EXPIRED,
    pg: [...recovered('postgresql'), NOW],
    sqlite: [...recovered('sqlite'), NOW.getTime()],
    index: 'pkey',
  },
  {
    label: 'heartbeat: lease renewal',
    statement: RENEW_LEASES,
    pg: [LEASE, ids, tokens],
    sqlite: [LEASE.getTime(), JSON.stringify(ids), JSON.stringify(tokens)],
    index: 'pkey',
  },
  {
    label: 'heartbeat: cancellations asked for',
    statement: SELECT_CANCELLED,
    pg: [ids, tokens],
    sqlite: [JSON.stringify(ids), JSON.stringify(tokens)],
    index: 'pkey',
  },
  {
    label: 'getResult',
    statement: INSERT_STATEMENTS.SELECT_ONE,
    pg: ['r1'],
    sqlite: ['r1'],
    index: 'pkey',
  },
  {
    label: 'cancel a READY task',
    statement: INSERT_STATEMENTS.CANCEL_READY,
    pg: [NOW, NOW, 'r1'],
    sqlite: [NOW.getTime(), NOW.getTime(), 'r1'],
    index: 'pkey',
  },
  {
    label: 'unique key holder',
    statement: INSERT_STATEMENTS.SELECT_KEY_HOLDER,
    pg: ['default', 'app.tasks.noop', 'k'],
    sqlite: ['default', 'app.tasks.noop', 'k'],
    index: 'unique_key_idx',
  },
];

/**
 * The claim as it was before migration 0007 (issue 12): the check must flag it on the same
 * fresh table, or it could not fail.
 */
export const OLD_CLAIM_PG =
  `select id from ${TASK_RESULT_TABLE} where status = 'READY' and available_at <= $1 ` +
  `and backend_name = $2 and queue_name in ($3) order by priority desc, available_at, id limit $4 for update skip locked`;
export const OLD_CLAIM_SQLITE =
  `select id from ${TASK_RESULT_TABLE} where status = 'READY' and available_at <= ? ` +
  `and backend_name = ? and queue_name in (?) order by priority desc, available_at, id limit ?`;

/** The claim's indexes before migration 0007, in place of its own. */
export const OLD_INDEXES = [
  `drop index ${TASK_RESULT_TABLE}_ready_queue_idx`,
  `drop index ${TASK_RESULT_TABLE}_ready_backend_idx`,
  `create index ${TASK_RESULT_TABLE}_ready_idx on ${TASK_RESULT_TABLE} (priority desc, available_at, id) where status = 'READY'`,
  `create index ${TASK_RESULT_TABLE}_queue_idx on ${TASK_RESULT_TABLE} (backend_name, queue_name, status)`,
];
