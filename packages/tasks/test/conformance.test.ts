import { DummyBackend, ImmediateBackend } from '@djtasks/tasks';
import { describeBackendConformance } from '@djtasks/tasks/testing';

describeBackendConformance('ImmediateBackend', {
  backend: () => ({ backend: ImmediateBackend }),
  executes: true,
});

describeBackendConformance('DummyBackend', {
  backend: () => ({ backend: DummyBackend }),
  executes: false,
});
