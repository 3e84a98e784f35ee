// The benchmark harness end to end at tiny sizes, on the test PostgreSQL: the worker process
// reports every task, the drain leaves nothing unfinished, latency samples arrive, autovacuum
// stays off, and commits are counted without the harness's own queries (Graphile Worker's
// unbatched worker commits twice per job: get_job and complete_job).
import { describe, expect, it } from 'vitest';

process.env['DJTASKS_BENCH_PG_URL'] =
  process.env['DJTASKS_TEST_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
process.env['DJTASKS_BENCH_DB_PREFIX'] = `djtasks_benchtest_${process.pid}_`;
const { postgresql } = await import('../bench/databases.ts');
const { runCase } = await import('../bench/measure.ts');
const { systemById } = await import('../bench/systems/index.ts');

const OPTIONS = {
  tasks: 200,
  oneAtATime: 5,
  latencySamples: 3,
  latencyIntervalMs: 10,
  concurrency: 10,
  drainCapMs: 60_000,
};
// 100 warm-up enqueues, 5 one at a time, 200 in bulk.
const TASKS = 305;

describe('bench harness', () => {
  it('measures Graphile Worker with commits from pg_stat_database alone', async () => {
    const result = await runCase(systemById('graphile'), postgresql, 'fresh', 1, OPTIONS);
    expect(result.drain).toMatchObject({ tasks: TASKS, capped: false });
    expect(result.drain!.commitsPerTask).toBeGreaterThanOrEqual(2);
    // Start-up, the idle fetches at the end and the shutdown add a few; polling the table
    // while tasks run (as the old harness did) would add hundreds.
    expect(result.drain!.commitsPerTask).toBeLessThan(2.5);
    expect(result.latency!.samples).toBe(3);
    expect(result.maintenanceRuns).toBe(0);
  });

  it('measures djtasks after ANALYZE', async () => {
    const result = await runCase(systemById('djtasks-pg'), postgresql, 'analyzed', 1, OPTIONS);
    expect(result.enqueueOnePerSecond).toBeGreaterThan(0);
    expect(result.enqueueBulkPerSecond).toBeGreaterThan(0);
    expect(result.drain).toMatchObject({ tasks: TASKS, capped: false });
    expect(result.drain!.cpuUsPerTask).toBeGreaterThan(0);
    expect(result.drain!.commitsPerTask).toBeGreaterThan(0);
    expect(result.latency!.samples).toBe(3);
    expect(result.latency!.medianMs).toBeGreaterThan(0);
  });
});
