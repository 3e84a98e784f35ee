/** What every MariaDB/MySQL session djtasks opens runs first (the pool's and the heartbeat thread's). */

/**
 * How djtasks sets up each MariaDB/MySQL session: UTC, and READ COMMITTED as on PostgreSQL (the
 * statements are written for it; REPEATABLE READ's gap locks would make the claim's locking
 * scan of the READY range stall concurrent enqueues).
 */
export const MYSQL_SESSION = [
  `set time_zone = '+00:00'`,
  'set session transaction isolation level read committed',
];
