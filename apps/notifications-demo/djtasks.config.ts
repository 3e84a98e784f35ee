/**
 * For the `djtasks` command of @djtasks/backend-db (`pnpm exec djtasks status`, `prune`,
 * `worker`) run in this folder: the same tasks configuration the app uses, from the same
 * settings. Variables not set in the environment take the values `./dev demo` uses, so the
 * command looks at the demo's database; set DATABASE_URL etc. to point it elsewhere.
 */
import { demoEnvironment } from './src/demo-environment.ts';

for (const [key, value] of Object.entries(demoEnvironment())) {
  if (key !== 'LOG_TASKS') process.env[key] ??= value;
}
// The settings are read when first imported: after the defaults above.
const { tasksConfig } = await import('./src/taskconfig.ts');

export default tasksConfig();
