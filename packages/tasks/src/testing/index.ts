/** For backend authors' tests: the conformance suite, fixture tasks and helpers. */
export {
  CONFORMANCE_OTHER_QUEUE,
  describeBackendConformance,
  type ConformanceOptions,
} from './conformance.ts';
export {
  addNumbers,
  blocksCpu,
  echo,
  exits,
  fails,
  FIXTURES_MODULE,
  flaky,
  honoursTimeout,
  ignoresTimeout,
  neverEnding,
  noop,
  readsContext,
  rejects,
  returnsDate,
  sleeps,
  timesOutOnce,
  waitsForCancel,
} from './fixtures.ts';
export { waitForResult } from './wait.ts';
