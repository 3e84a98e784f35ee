/** The benchmark's tasks; the pool's threads import this module. */
import { task } from '@djtasks/tasks';

/** The trivial task every pool runs. */
export const add = task({ name: 'bench.add' }, (a: number, b: number) => a + b);

/** Returns when it started, in epoch milliseconds with sub-millisecond precision. */
export const stamp = task(
  { name: 'bench.stamp' },
  () => performance.timeOrigin + performance.now(),
);

/** Keeps the CPU busy for `ms` milliseconds. */
export const spin = task({ name: 'bench.spin' }, (ms: number) => {
  const end = performance.now() + ms;
  let spins = 0;
  while (performance.now() < end) spins++;
  return spins;
});
