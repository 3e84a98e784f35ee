/**
 * From a result file to Markdown: one table per condition (median and range over rounds), the
 * issue-12 goals marked met or not met with their ratios, and how each system was configured.
 * `run.ts` prints it; `render-readme.ts` puts it in the package README.
 */
import type { Condition } from './measure.ts';
import { goalResults } from './goals.ts';
import { format, median, METRICS, values, type BenchResult, type Metric } from './metrics.ts';

export type { BenchResult } from './metrics.ts';

/** One row per goal, one cell per condition. */
function goalRows(result: BenchResult): string[][] {
  const { conditions } = result.meta.options;
  const byCondition = conditions.map((c) => goalResults(result, c));
  return byCondition[0]!.map((g, i) => [g.goal, ...byCondition.map((goals) => goals[i]!.text)]);
}

function cell(result: BenchResult, system: string, condition: Condition, metric: Metric): string {
  const found = values(result, system, condition, metric);
  if (found.length === 0) return 'n/a';
  const digits = METRICS.find((m) => m.key === metric)!.digits;
  const m = format(median(found), digits);
  if (found.length === 1) return m;
  return `${m} (${format(Math.min(...found), digits)}–${format(Math.max(...found), digits)})`;
}

const CONDITION_TITLE: Record<Condition, string> = {
  fresh: 'Fresh tables (schema just created, never analyzed, autovacuum off)',
  analyzed: 'After ANALYZE (same, with `ANALYZE` before the drain and before the latency test)',
};

const table = (header: string[], rows: string[][]): string =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

/** Each issue-12 goal under `condition`: met, not met, or (met undefined) not measured. */
export function renderMarkdown(result: BenchResult): string {
  const { meta } = result;
  const out: string[] = [];
  const loads = meta.rounds.map((r) => r.load.loadavg1);
  out.push(
    `Run of ${meta.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${Math.round(meta.durationSeconds / 60)} min: ` +
      `${meta.cores} × ${meta.cpuModel}, ${meta.memoryGb} GB RAM, Node ${meta.node}` +
      (meta.postgres ? `, ${meta.postgres}` : '') +
      (meta.postgresSettings
        ? ` (${Object.entries(meta.postgresSettings)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')})`
        : '') +
      (meta.mariadb ? `, ${meta.mariadb}` : '') +
      `. ${meta.options.rounds} round${meta.options.rounds === 1 ? '' : 's'}, systems interleaved (order rotated each round); ` +
      `${meta.options.tasks.toLocaleString('en-US')} tasks per bulk enqueue and drain, ` +
      `${meta.options.oneAtATime.toLocaleString('en-US')} enqueued one at a time, concurrency ${meta.options.concurrency}, ` +
      `${meta.options.latencySamples} latency samples every ${meta.options.latencyIntervalMs} ms. ` +
      `Load average (1 min) at the start of each round: ${loads.map((l) => l.toFixed(2)).join(', ')}; ` +
      `highest before a case: ${Math.max(0, ...result.cases.map((c) => c.loadBefore.loadavg1)).toFixed(2)}. ` +
      'Cells: median (min–max) over rounds.',
  );
  const rowsFor = (condition: Condition) =>
    result.systems
      .filter((s) => result.cases.some((c) => c.system === s.id && c.condition === condition))
      .map((s) => [s.label, ...METRICS.map((m) => cell(result, s.id, condition, m.key))]);
  for (const condition of meta.options.conditions) {
    out.push(
      '',
      `**${CONDITION_TITLE[condition]}**`,
      '',
      table(['system', ...METRICS.map((m) => m.title)], rowsFor(condition)),
    );
  }
  const capped = result.cases.filter((c) => c.drain?.capped);
  const vacuumed = result.cases.filter((c) => c.maintenanceRuns > 0);
  if (capped.length || vacuumed.length) {
    out.push('');
    for (const c of capped)
      out.push(
        `- ${c.system}, ${c.condition}, round ${c.round}: drain stopped at the cap (${c.drain!.tasks} done).`,
      );
    for (const c of vacuumed)
      out.push(
        `- ${c.system}, ${c.condition}, round ${c.round}: autovacuum ran ${c.maintenanceRuns} time(s) on its tables.`,
      );
  }
  if (result.limits) {
    const pgRates = result.limits.postgresqlCommitsPerSecond
      .map(
        (l) => `${format(l.perSecond, 0)}/s with ${l.clients} client${l.clients === 1 ? '' : 's'}`,
      )
      .join(', ');
    const sqliteRates = result.limits.sqliteCommitsPerSecond
      .map((l) => `${format(l.perSecond, 0)}/s with synchronous=${l.synchronous}`)
      .join(', ');
    out.push(
      '',
      `Single-row commits on this machine (the ceiling of one-at-a-time enqueues): PostgreSQL ${pgRates} (pgbench); SQLite WAL ${sqliteRates} (node:sqlite).`,
    );
  }
  out.push(
    '',
    '**Goals of issue 12** (medians; ratios of medians, with the per-round paired range)',
    '',
  );
  out.push(
    table(
      [
        'goal',
        ...meta.options.conditions.map((c) => (c === 'fresh' ? 'fresh tables' : 'after ANALYZE')),
      ],
      goalRows(result),
    ),
  );
  return out.join('\n');
}

export function renderConfiguration(result: Pick<BenchResult, 'systems'>): string {
  return table(
    ['system', 'version', 'configuration', 'documentation followed'],
    result.systems.map((s) => [s.label, s.version, s.configuration, s.docs.join(', ')]),
  );
}
