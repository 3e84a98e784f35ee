import { mariadb } from '../databases-mariadb.ts';
import { djtasksSystem } from './djtasks.ts';

export const djtasksMariadb = djtasksSystem({
  id: 'djtasks-mariadb',
  label: 'djtasks MariaDB',
  database: mariadb,
  prefetch: 0,
  pollIntervalMs: 50,
  configuration:
    'concurrency 10, prefetch 0, `--interval 0.05`: MariaDB has no LISTEN/NOTIFY, so a worker in another process learns of new tasks by polling (default 1 s); commits are the server-wide Handler_commit',
});
