// The benchmark's report: medians over rounds, goals met or not met, ratios paired by round.
import { describe, expect, it } from 'vitest';
import type { CaseResult } from '../bench/measure.ts';
import { goalResults } from '../bench/goals.ts';
import { median, type BenchResult } from '../bench/metrics.ts';
import { renderMarkdown } from '../bench/report.ts';

const LOAD = { loadavg1: 0.5, loadavg5: 0.5, cores: 2 };

function drainCase(system: string, round: number, perSecond: number, cpu = 50): CaseResult {
  return {
    system,
    condition: 'fresh',
    round,
    startedAt: '2026-12-01T00:00:00.000Z',
    loadBefore: LOAD,
    loadAfter: LOAD,
    enqueueOnePerSecond: 1000,
    enqueueBulkPerSecond: 50_000,
    drain: {
      tasks: 100,
      perSecond,
      cpuUsPerTask: cpu,
      commitsPerTask: 0.1,
      workerStartMs: 5,
      tailMs: 1,
      capped: false,
    },
    latency: { samples: 10, medianMs: 2, p95Ms: 4, maxMs: 5 },
    maintenanceRuns: 0,
  };
}

function result(cases: CaseResult[]): BenchResult {
  return {
    meta: {
      startedAt: '2026-12-01T00:00:00.000Z',
      finishedAt: '2026-12-01T00:10:00.000Z',
      durationSeconds: 600,
      node: 'v24',
      cpuModel: 'test',
      cores: 2,
      memoryGb: 1,
      options: {
        tasks: 100,
        oneAtATime: 10,
        latencySamples: 10,
        latencyIntervalMs: 10,
        concurrency: 10,
        drainCapMs: 1000,
        rounds: 3,
        conditions: ['fresh'],
        systems: ['djtasks-pg', 'graphile'],
      },
      rounds: [1, 2, 3].map((round) => ({ round, startedAt: '', load: LOAD })),
    },
    systems: [
      {
        id: 'djtasks-pg',
        label: 'djtasks',
        family: 'djtasks',
        database: 'postgresql',
        version: 'x',
        configuration: '',
        docs: [],
        measures: [],
      },
      {
        id: 'graphile',
        label: 'Graphile',
        family: 'graphile',
        database: 'postgresql',
        version: 'y',
        configuration: '',
        docs: [],
        measures: [],
      },
    ],
    cases,
  };
}

describe('bench report', () => {
  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('marks a ratio goal met from medians and gives the per-round paired range', () => {
    const r = result([
      drainCase('djtasks-pg', 1, 3000),
      drainCase('djtasks-pg', 2, 2000),
      drainCase('djtasks-pg', 3, 5000),
      drainCase('graphile', 1, 1000),
      drainCase('graphile', 2, 1000),
      drainCase('graphile', 3, 2000),
    ]);
    const drain = goalResults(r, 'fresh').find((g) => g.goal.startsWith('default drain'))!;
    // Medians 3000 vs 1000: 3×; per round 3, 2 and 2.5.
    expect(drain.met).toBe(true);
    expect(drain.text).toBe('met: 3.00× (3,000 vs 1,000/s; by round 2.00–3.00×)');
    // Latency: 2 ms vs 2 ms is "at most", so met.
    expect(goalResults(r, 'fresh').find((g) => g.goal.startsWith('latency median'))!.met).toBe(
      true,
    );
  });

  it('marks a goal not met, and one whose systems did not run as not measured', () => {
    const r = result([drainCase('djtasks-pg', 1, 1500), drainCase('graphile', 1, 1000)]);
    const goals = goalResults(r, 'fresh');
    expect(goals.find((g) => g.goal.startsWith('default drain'))).toMatchObject({
      met: false,
      text: 'not met: 1.50× (1,500 vs 1,000/s)',
    });
    const prefetch = goals.find((g) => g.goal.startsWith('prefetch drain'))!;
    expect(prefetch.met).toBeUndefined();
    expect(prefetch.text).toBe('not measured');
    const markdown = renderMarkdown(r);
    expect(markdown).toContain('| djtasks | 1,000 | 50,000 | 1,500 | 50 | 0.10 | 2.00 | 4.00 |');
    expect(markdown).toContain('| default drain ≥ 2× Graphile Worker unbatched | not met: 1.50×');
  });
});
