import { describeBackendConformance } from '@djtasks/tasks/testing';
import { ThreadPoolBackend } from '@djtasks/backend-local';

describeBackendConformance('ThreadPoolBackend', {
  backend: () => ({
    backend: ThreadPoolBackend,
    options: { maxWorkers: 2, closeTimeoutMs: 2_000, abortTimeoutMs: 500 },
  }),
  executes: true,
  isolatesProcessExit: true,
});
