/**
 * For the `djtasks` command of @djtasks/backend-db (`pnpm exec djtasks status`, `prune`,
 * `worker`): the same tasks configuration the app uses, from the same settings.
 */
import { tasksConfig } from './src/taskconfig.ts';

export default tasksConfig();
