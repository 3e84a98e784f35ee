import { defineConfig } from '@djtasks/tasks';
import { DatabaseBackend } from '../src/index.ts';

const database = process.env['DJTASKS_TEST_DB'];
if (!database) throw new Error('DJTASKS_TEST_DB is not set');

export default defineConfig({
  backends: { default: { backend: DatabaseBackend, queues: [], options: { database } } },
  taskModules: [new URL('./tasks.ts', import.meta.url)],
});
