/**
 * What runs beside a worker's claim loop: the lease heartbeat thread, the LISTEN connection,
 * the maintenance loop (recovery, retention) and the periodic tasks. Started together, stopped
 * together once the loop has ended.
 */
import type { MikroORM } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/sql';
import type { AnyTask, Schedule } from '@djtasks/tasks/backend';
import type { DatabaseBackend } from './backend.ts';
import { connectionInfo } from './connection.ts';
import type { DialectName } from './dialect.ts';
import { Heartbeat, type Held } from './heartbeat.ts';
import { ReadyListener } from './listener.ts';
import { runMaintenance } from './maintenance.ts';
import { runSchedules } from './scheduler.ts';
import type { WorkerOptions } from './worker-options.ts';

/** What {@link startWorkerServices} needs from its worker. */
export interface WorkerServicesOptions {
  backend: DatabaseBackend;
  orm: MikroORM;
  em: EntityManager;
  dialect: DialectName;
  workerId: string;
  options: WorkerOptions;
  leaseMs: number;
  /** The queues as `status` shows them. */
  queueList: string;
  schedules: readonly { schedule: Schedule; task: AnyTask }[];
  stopping: () => boolean;
  sleep: (ms: number) => Promise<void>;
  /** New work may be there (a NOTIFY, an enqueue here, tasks recovered to READY). */
  wake: () => void;
  /** Attempts whose row was taken back while this worker held them. */
  onLost: (lost: Held[]) => void;
  /** Task `id` is to be cancelled. */
  onCancel: (id: string) => void;
}

/** The running services of a worker. */
export interface WorkerServices {
  heartbeat: Heartbeat;
  /** Stop them all (call once the worker's `stopping()` is true). */
  stop(): Promise<void>;
}

/** Start the heartbeat, the LISTEN connection (PostgreSQL), maintenance and periodic tasks. */
export function startWorkerServices(s: WorkerServicesOptions): WorkerServices {
  const { backend, options, leaseMs, workerId } = s;
  const connection = connectionInfo(s.em, backend.options.sqlite);
  const heartbeat = new Heartbeat(
    {
      connection,
      workerId,
      backendName: backend.alias,
      queues: s.queueList,
      pid: process.pid,
      leaseMs,
      intervalMs: options.heartbeatIntervalMs ?? Math.max(50, leaseMs / 3),
    },
    {
      onLost: s.onLost,
      onCancel: (held) => {
        for (const { id } of held) s.onCancel(id);
      },
    },
  );
  const listener =
    connection.dialect === 'postgresql' && options.listen !== false
      ? new ReadyListener(connection.pg, s.wake)
      : undefined;
  listener?.start();
  const unsubscribe = backend.onEnqueue(s.wake);
  const unsubscribeCancel = backend.onCancel(s.onCancel);
  const periodic = runSchedules({
    backend,
    em: s.orm.em.fork() as unknown as EntityManager,
    dialect: s.dialect,
    workerId,
    schedules: s.schedules,
    stopping: s.stopping,
    sleep: s.sleep,
  });
  const maintenance = runMaintenance({
    backend,
    em: s.em,
    dialect: s.dialect,
    workerId,
    intervalMs: options.recoveryIntervalMs ?? leaseMs / 2,
    retention: options.retention,
    stopping: s.stopping,
    sleep: s.sleep,
    onRetried: s.wake,
  });
  return {
    heartbeat,
    async stop() {
      unsubscribe();
      unsubscribeCancel();
      await maintenance;
      await periodic;
      await listener?.stop();
      await heartbeat.stop();
    },
  };
}
