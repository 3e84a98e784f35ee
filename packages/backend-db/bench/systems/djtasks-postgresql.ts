import { postgresql } from '../databases.ts';
import { djtasksSystem } from './djtasks.ts';

export const djtasksPostgresql = djtasksSystem({
  id: 'djtasks-pg',
  label: 'djtasks PostgreSQL',
  database: postgresql,
  prefetch: 0,
  configuration:
    'the `djtasks worker` defaults: concurrency 10, prefetch 0 (claims only for free slots), LISTEN/NOTIFY on, poll interval 1 s',
});

export const djtasksPostgresqlPrefetch = djtasksSystem({
  id: 'djtasks-pg-prefetch',
  label: 'djtasks PostgreSQL, prefetch 200',
  database: postgresql,
  prefetch: 200,
  configuration:
    'concurrency 10, `--prefetch 200` (a local queue of claimed tasks), otherwise defaults',
});
