/**
 * Runs once in each thread of the `threadpool` backend: the thread opens its own database
 * connection on first use (see `getOrm`) and closes it when the pool stops.
 */
import { closeOrm } from './db.ts';

export default function setupThread(): () => Promise<void> {
  return closeOrm;
}
