export { ThreadPoolBackend, type ThreadPoolStats } from './backend.ts';
export { WorkerThreadError } from './errors.ts';
export {
  THREAD_POOL_DEFAULTS,
  type ThreadPoolBackendOptions,
  type ThreadPoolSettings,
  type ThreadSetup,
  type ThreadSetupContext,
} from './options.ts';
