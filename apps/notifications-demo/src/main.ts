/**
 * Run the web server: `node src/main.ts` (what `manage.py runserver` is to Django, minus
 * autoreload). Apply migrations first with `node src/manage.ts migrate`.
 */
import { configureTasks, taskBackends } from '@djtasks/tasks';
import { buildApp } from './app.ts';
import { closeOrm, getOrm } from './db.ts';
import { settings } from './settings.ts';
import { tasksConfig } from './taskconfig.ts';

configureTasks(tasksConfig());
const orm = await getOrm(settings.DATABASE);
const pending = await orm.migrator.getPending();
if (pending.length > 0) {
  console.error(
    `error: ${pending.length} migration(s) not applied (${pending.map((m) => m.name).join(', ')}); run: node src/manage.ts migrate`,
  );
  await closeOrm();
  process.exit(1);
}
const app = buildApp(orm, { logger: settings.DEBUG });
await app.listen({ host: settings.HOST, port: settings.PORT });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : settings.PORT;
console.log(
  `notifications-demo listening on http://${settings.HOST}:${port} (tasks: ${settings.TASK_BACKEND}, database: ${settings.DATABASE.dialect}, email: ${settings.EMAIL_BACKEND.join('+')})`,
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  await app.close();
  await taskBackends.close();
  await closeOrm();
  process.exit(0);
}
process.on('SIGINT', (signal) => void shutdown(signal));
process.on('SIGTERM', (signal) => void shutdown(signal));
