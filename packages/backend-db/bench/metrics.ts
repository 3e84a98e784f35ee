/** The result file's shape and the metrics read from it, shared by the report and the goals. */
import type { CaseOptions, CaseResult, Condition, Load } from './measure.ts';
import type { Limits } from './limits.ts';
import type { BenchSystem } from './systems/types.ts';

export interface BenchResult {
  meta: {
    startedAt: string;
    finishedAt: string;
    durationSeconds: number;
    node: string;
    cpuModel: string;
    cores: number;
    memoryGb: number;
    postgres?: string;
    mariadb?: string;
    postgresSettings?: Record<string, string>;
    options: CaseOptions & { rounds: number; conditions: Condition[]; systems: string[] };
    rounds: { round: number; startedAt: string; load: Load }[];
  };
  systems: Pick<
    BenchSystem,
    'id' | 'label' | 'family' | 'database' | 'version' | 'configuration' | 'docs' | 'measures'
  >[];
  cases: CaseResult[];
  /** With `--limits`: the machine's single-row commit rates. */
  limits?: Limits;
}

export type Metric =
  'enqueueOne' | 'enqueueBulk' | 'drain' | 'cpu' | 'commits' | 'latencyMedian' | 'latencyP95';

export const METRICS: {
  key: Metric;
  title: string;
  digits: number;
  read: (c: CaseResult) => number | undefined;
}[] = [
  {
    key: 'enqueueOne',
    title: 'enqueue one at a time, /s',
    digits: 0,
    read: (c) => c.enqueueOnePerSecond,
  },
  { key: 'enqueueBulk', title: 'bulk enqueue, /s', digits: 0, read: (c) => c.enqueueBulkPerSecond },
  { key: 'drain', title: 'drain, /s', digits: 0, read: (c) => c.drain?.perSecond },
  { key: 'cpu', title: 'worker CPU, µs/task', digits: 0, read: (c) => c.drain?.cpuUsPerTask },
  { key: 'commits', title: 'commits/task', digits: 2, read: (c) => c.drain?.commitsPerTask },
  {
    key: 'latencyMedian',
    title: 'latency median, ms',
    digits: 2,
    read: (c) => c.latency?.medianMs,
  },
  { key: 'latencyP95', title: 'latency p95, ms', digits: 2, read: (c) => c.latency?.p95Ms },
];

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const format = (value: number, digits: number): string =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      })
    : '–';

export function values(
  result: BenchResult,
  system: string,
  condition: Condition,
  metric: Metric,
): number[] {
  const read = METRICS.find((m) => m.key === metric)!.read;
  return result.cases
    .filter((c) => c.system === system && c.condition === condition)
    .map(read)
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
}
