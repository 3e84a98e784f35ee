import { sqlite } from '../databases.ts';
import { djtasksSystem } from './djtasks.ts';

export const djtasksSqlite = djtasksSystem({
  id: 'djtasks-sqlite',
  label: 'djtasks SQLite, prefetch 200',
  database: sqlite,
  prefetch: 200,
  configuration:
    'one worker process, concurrency 10, `--prefetch 200`, WAL (the backend default); other processes learn of new tasks by polling (1 s)',
});
