/**
 * Management commands, as `manage.py` has them:
 *   node src/manage.ts migrate          apply the app's migrations and the task tables of djtasks
 *   node src/manage.ts worker [--batch] run tasks of the database backend until SIGTERM/SIGINT
 *   node src/manage.ts check            check the settings, the task backends and the database
 *   node src/manage.ts clearsessions    delete expired sessions
 *   node src/manage.ts createsuperuser  create a staff user (task dashboard, /metrics)
 */
import { parseArgs } from 'node:util';
import { migrate as migrateTaskTables } from '@djtasks/backend-db';
import { Worker } from '@djtasks/backend-db/worker';
import { configureTasks, taskBackends } from '@djtasks/tasks';
import { runCreateSuperuser } from './createsuperuser.ts';
import { closeOrm, forkEm, getOrm, migrate } from './db.ts';
import { Session } from './models/index.ts';
import { settings } from './settings.ts';
import { onShutdownSignal } from './signals.ts';
import { TASK_MODULES, tasksConfig } from './taskconfig.ts';
import { startTelemetry } from './telemetry.ts';

const [command, ...rest] = process.argv.slice(2);

const USAGE = `usage: node src/manage.ts COMMAND
  migrate          apply the app's migrations and the task tables of djtasks
  worker [--batch] run tasks of the database backend until SIGTERM/SIGINT
                   (--batch: stop when the queue is empty)
  check            check the settings, the task backends and the database
  clearsessions    delete expired sessions
  createsuperuser [--email A] [--name N] [--noinput]
                   create a staff user (task dashboard at /admin/tasks/, /metrics);
                   --noinput takes SUPERUSER_PASSWORD from the environment`;

async function runWorker(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      batch: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (settings.TASK_BACKEND !== 'database') {
    console.error(
      `worker: TASK_BACKEND is '${settings.TASK_BACKEND}'; only the database backend has worker processes`,
    );
    return 2;
  }
  configureTasks(tasksConfig());
  // Before any task runs: a consumer span per attempt, continuing the enqueuer's trace.
  const telemetry = await startTelemetry('worker');
  // The worker finds tasks by name in the registry: import the modules that define them.
  for (const module of TASK_MODULES) await import(module.href);
  const worker = new Worker({ concurrency: settings.WORKER_CONCURRENCY, batch: values.batch });
  onShutdownSignal(
    (signal) => {
      console.log(`worker: ${signal}, finishing running tasks (again to abort them)`);
      void worker.stop();
    },
    (signal) => {
      console.log(`worker: ${signal}, aborting running tasks`);
      void worker.abort();
    },
  );
  console.log(
    `worker ${worker.workerId} running tasks from ${settings.DATABASE.dialect} (concurrency ${settings.WORKER_CONCURRENCY}${values.batch ? ', batch' : ''})`,
  );
  const summary = await worker.run();
  await telemetry.shutdown(); // sends the spans still buffered
  console.log(
    `worker ${summary.workerId} stopped: ${summary.claimed} claimed, ${summary.successful} successful, ${summary.failed} failed, ${summary.retried} retried`,
  );
  return 0;
}

async function main(): Promise<number> {
  if (rest.includes('--help') && command !== 'worker' && command !== 'createsuperuser') {
    console.log(USAGE);
    return 0;
  }
  switch (command) {
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return 0;
    case 'migrate': {
      const orm = await getOrm(settings.DATABASE);
      const applied = [...(await migrate(orm)), ...(await migrateTaskTables(orm.em.fork()))];
      console.log(
        applied.length > 0
          ? `Applied ${applied.join(', ')} (${settings.DATABASE.dialect})`
          : `No migrations to apply (${settings.DATABASE.dialect})`,
      );
      return 0;
    }
    case 'worker':
      return runWorker(rest);
    case 'check': {
      configureTasks(tasksConfig());
      const problems = taskBackends.check();
      // The database must answer (the worker container's health check runs this).
      await (await forkEm(settings.DATABASE)).getConnection().execute('select 1');
      console.log(
        `TASK_BACKEND=${settings.TASK_BACKEND} DATABASE=${settings.DATABASE.dialect} EMAIL_BACKEND=${settings.EMAIL_BACKEND.join(',')}`,
      );
      for (const problem of problems) console.error(`problem: ${problem}`);
      return problems.length > 0 ? 1 : 0;
    }
    case 'createsuperuser':
      return runCreateSuperuser(rest);
    case 'clearsessions': {
      const em = await forkEm(settings.DATABASE);
      const deleted = await em.nativeDelete(Session, { expiresAt: { $lte: new Date() } });
      console.log(`Deleted ${deleted} expired session(s)`);
      return 0;
    }
    default:
      console.error(command ? `unknown command '${command}'\n${USAGE}` : USAGE);
      return 2;
  }
}

try {
  process.exitCode = await main();
} finally {
  await taskBackends.close();
  await closeOrm();
}
