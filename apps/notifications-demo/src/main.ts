/**
 * Run the web server: `node src/main.ts` (what `manage.py runserver` is to Django, minus
 * autoreload). Apply migrations first with `node src/manage.ts migrate`.
 */
import { configureTasks, taskBackends } from '@djtasks/tasks';
import { buildApp } from './app.ts';
import { closeOrm, getOrm } from './db.ts';
import { settings } from './settings.ts';
import { onShutdownSignal } from './signals.ts';
import { tasksConfig } from './taskconfig.ts';
import { startTelemetry } from './telemetry.ts';

configureTasks(tasksConfig());
// Before the app is built and any task enqueued: request spans, task spans, /metrics.
const telemetry = await startTelemetry('web');
const orm = await getOrm(settings.DATABASE);
const pending = await orm.migrator.getPending();
if (pending.length > 0) {
  console.error(
    `error: ${pending.length} migration(s) not applied (${pending.map((m) => m.name).join(', ')}); run: node src/manage.ts migrate`,
  );
  await closeOrm();
  process.exit(1);
}
let listening = `http://${settings.HOST}:${settings.PORT}`;
const app = await buildApp(orm, {
  logger: settings.DEBUG,
  siteUrl: () => listening,
  telemetry,
});
try {
  await app.listen({ host: settings.HOST, port: settings.PORT });
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
  console.error(
    `error: port ${settings.PORT} on ${settings.HOST} is in use; pick another with --port N (./dev demo) or PORT=N`,
  );
  await taskBackends.close();
  await closeOrm();
  process.exit(1);
}
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : settings.PORT;
listening = `http://${settings.HOST.includes(':') ? `[${settings.HOST}]` : settings.HOST}:${port}`;
console.log(
  `notifications-demo listening on ${listening} (tasks: ${settings.TASK_BACKEND}, database: ${settings.DATABASE.dialect}, email: ${settings.EMAIL_BACKEND.join('+')})`,
);

onShutdownSignal(async (signal) => {
  console.log(`${signal}: shutting down`);
  await app.close();
  await taskBackends.close();
  await closeOrm();
  await telemetry.shutdown(); // sends the spans still buffered
  process.exit(0);
});
