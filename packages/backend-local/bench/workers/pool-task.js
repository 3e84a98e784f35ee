// The same work as bench/tasks.ts, for Piscina and tinypool (default export and named ones).
import { performance } from 'node:perf_hooks';

export default function add({ a, b }) {
  return a + b;
}

export function stamp() {
  return performance.timeOrigin + performance.now();
}
