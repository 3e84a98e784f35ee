/**
 * Management commands, as `manage.py` has them:
 *   node src/manage.ts migrate     apply the app's migrations (and the task backend's)
 *   node src/manage.ts check       print the settings that matter and check the task backends
 *   node src/manage.ts clearsessions   delete expired sessions
 */
import { configureTasks, taskBackends } from '@djtasks/tasks';
import { closeOrm, forkEm, getOrm, migrate } from './db.ts';
import { Session } from './models/index.ts';
import { settings } from './settings.ts';
import { tasksConfig } from './taskconfig.ts';

const command = process.argv[2];

async function main(): Promise<number> {
  switch (command) {
    case 'migrate': {
      const orm = await getOrm(settings.DATABASE);
      const applied = await migrate(orm);
      console.log(
        applied.length > 0
          ? `Applied ${applied.join(', ')} (${settings.DATABASE.dialect})`
          : `No migrations to apply (${settings.DATABASE.dialect})`,
      );
      return 0;
    }
    case 'check': {
      configureTasks(tasksConfig());
      const problems = taskBackends.check();
      console.log(
        `TASK_BACKEND=${settings.TASK_BACKEND} DATABASE=${settings.DATABASE.dialect} EMAIL_BACKEND=${settings.EMAIL_BACKEND.join(',')}`,
      );
      for (const problem of problems) console.error(`problem: ${problem}`);
      return problems.length > 0 ? 1 : 0;
    }
    case 'clearsessions': {
      const em = await forkEm(settings.DATABASE);
      const deleted = await em.nativeDelete(Session, { expiresAt: { $lte: new Date() } });
      console.log(`Deleted ${deleted} expired session(s)`);
      return 0;
    }
    default:
      console.error('usage: node src/manage.ts migrate | check | clearsessions');
      return 2;
  }
}

try {
  process.exitCode = await main();
} finally {
  await taskBackends.close();
  await closeOrm();
}
