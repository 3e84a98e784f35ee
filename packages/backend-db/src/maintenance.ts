import type { EntityManager } from '@mikro-orm/sql';
import { getTaskLogger } from '@djtasks/tasks/backend';
import type { DatabaseBackend } from './backend.ts';
import type { DialectName } from './dialect.ts';
import { pruneRows } from './admin-queries.ts';
import { recoverAbandoned } from './recovery.ts';
import type { WorkerOptions } from './worker-options.ts';

/** What a worker's maintenance loop needs. */
export interface MaintenanceOptions {
  backend: DatabaseBackend;
  em: EntityManager;
  dialect: DialectName;
  workerId: string;
  intervalMs: number;
  retention: WorkerOptions['retention'];
  stopping: () => boolean;
  sleep: (ms: number) => Promise<void>;
  /** Called when a pass put tasks back to READY. */
  onRetried: () => void;
}

/**
 * Until the worker stops: take back tasks of dead workers (expired leases) every
 * `intervalMs`, and with `retention`, delete old finished results once per its interval.
 */
export async function runMaintenance(options: MaintenanceOptions): Promise<void> {
  const { backend, em, dialect, workerId, retention } = options;
  let lastPrune = 0;
  while (!options.stopping()) {
    try {
      const report = await recoverAbandoned(backend, em, dialect);
      if (report.retried > 0) options.onRetried();
      if (retention && Date.now() - lastPrune >= (retention.intervalMs ?? 3_600_000)) {
        lastPrune = Date.now();
        const day = 86_400_000;
        const deleted = await pruneRows(em, dialect, {
          backendName: backend.alias,
          queues: '*',
          successfulBefore: new Date(lastPrune - retention.minAgeDays * day),
          failedBefore: new Date(
            lastPrune - (retention.failedMinAgeDays ?? retention.minAgeDays) * day,
          ),
          dryRun: false,
        });
        if (deleted > 0)
          getTaskLogger().info(`worker ${workerId}: pruned ${deleted} finished task result(s)`);
      }
    } catch (error) {
      getTaskLogger().warn(
        `worker ${workerId}: recovery pass failed (${(error as Error).message})`,
      );
    }
    await options.sleep(options.intervalMs);
  }
}
