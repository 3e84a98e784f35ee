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
  neverEnding,
  noop,
  readsContext,
  rejects,
  returnsDate,
  sleeps,
} from './fixtures.ts';
export { waitForResult } from './wait.ts';
