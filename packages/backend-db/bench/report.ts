/**
 * From a result file to Markdown: one table per condition (median and range over rounds), the
 * issue-12 goals marked met or not met with their ratios, and how each system was configured.
 * `run.ts` prints it; `render-readme.ts` puts it in the package README.
 */
import type { CaseResult, CaseOptions, Condition, Load } from './measure.ts';
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

type Metric =
  'enqueueOne' | 'enqueueBulk' | 'drain' | 'cpu' | 'commits' | 'latencyMedian' | 'latencyP95';

const METRICS: {
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

const format = (value: number, digits: number): string =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      })
    : '–';

function values(
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

interface Goal {
  text: string;
  /** djtasks' system and metric, the peer's (or a fixed bound). */
  ours: [string, Metric];
  theirs: [string, Metric] | number;
  /** `ratio` = ours / theirs ≥ bound; `atMost` = ours ≤ theirs (or the bound). */
  kind: { ratio: number } | 'atMost';
}

const GOALS: Goal[] = [
  {
    text: 'default drain ≥ 2× Graphile Worker unbatched',
    ours: ['djtasks-pg', 'drain'],
    theirs: ['graphile', 'drain'],
    kind: { ratio: 2 },
  },
  {
    text: 'prefetch drain ≥ 1.0× Graphile Worker batched',
    ours: ['djtasks-pg-prefetch', 'drain'],
    theirs: ['graphile-batched', 'drain'],
    kind: { ratio: 1 },
  },
  {
    text: 'prefetch worker CPU ≤ 30 µs per task',
    ours: ['djtasks-pg-prefetch', 'cpu'],
    theirs: 30,
    kind: 'atMost',
  },
  {
    text: 'enqueue one at a time ≥ 2× pg-boss',
    ours: ['djtasks-pg', 'enqueueOne'],
    theirs: ['pgboss', 'enqueueOne'],
    kind: { ratio: 2 },
  },
  {
    text: 'bulk enqueue ≥ 1.5× Graphile Worker',
    ours: ['djtasks-pg', 'enqueueBulk'],
    theirs: ['graphile', 'enqueueBulk'],
    kind: { ratio: 1.5 },
  },
  {
    text: 'bulk enqueue ≥ 1.5× pg-boss',
    ours: ['djtasks-pg', 'enqueueBulk'],
    theirs: ['pgboss', 'enqueueBulk'],
    kind: { ratio: 1.5 },
  },
  {
    text: 'latency median ≤ Graphile Worker unbatched',
    ours: ['djtasks-pg', 'latencyMedian'],
    theirs: ['graphile', 'latencyMedian'],
    kind: 'atMost',
  },
  {
    text: 'latency p95 ≤ Graphile Worker unbatched',
    ours: ['djtasks-pg', 'latencyP95'],
    theirs: ['graphile', 'latencyP95'],
    kind: 'atMost',
  },
  {
    text: 'SQLite drain by one worker (prefetch) ≥ 15,000/s',
    ours: ['djtasks-sqlite', 'drain'],
    theirs: 15_000,
    kind: { ratio: 1 },
  },
];

/** Per-round ratio ours/theirs, paired by round (the rounds are interleaved). */
function pairedRatios(result: BenchResult, goal: Goal, condition: Condition): number[] {
  if (typeof goal.theirs === 'number') return [];
  const [theirSystem, theirMetric] = goal.theirs;
  const read = (metric: Metric) => METRICS.find((m) => m.key === metric)!.read;
  const ratios: number[] = [];
  for (const mine of result.cases.filter(
    (c) => c.system === goal.ours[0] && c.condition === condition,
  )) {
    const peer = result.cases.find(
      (c) => c.system === theirSystem && c.condition === condition && c.round === mine.round,
    );
    const a = read(goal.ours[1])(mine);
    const b = peer && read(theirMetric)(peer);
    if (a !== undefined && b !== undefined && b > 0) ratios.push(a / b);
  }
  return ratios;
}

function judge(
  result: BenchResult,
  goal: Goal,
  condition: Condition,
): { met?: boolean; text: string } {
  const mine = values(result, goal.ours[0], condition, goal.ours[1]);
  const theirs =
    typeof goal.theirs === 'number'
      ? [goal.theirs]
      : values(result, goal.theirs[0], condition, goal.theirs[1]);
  if (mine.length === 0 || theirs.length === 0) return { text: 'not measured' };
  const a = median(mine);
  const b = median(theirs);
  const digits = METRICS.find((m) => m.key === goal.ours[1])!.digits;
  if (goal.kind === 'atMost') {
    const met = a <= b;
    return {
      met,
      text: `${met ? 'met' : 'not met'}: ${format(a, digits)} vs ${format(b, digits)}`,
    };
  }
  const ratio = a / b;
  const met = ratio >= goal.kind.ratio;
  const rounds = pairedRatios(result, goal, condition);
  const range =
    rounds.length > 1
      ? `; by round ${format(Math.min(...rounds), 2)}–${format(Math.max(...rounds), 2)}×`
      : '';
  const verdict = met ? 'met' : 'not met';
  if (typeof goal.theirs === 'number') {
    return { met, text: `${verdict}: ${format(a, 0)}/s (goal ${format(b, 0)}/s)` };
  }
  return {
    met,
    text: `${verdict}: ${format(ratio, 2)}× (${format(a, 0)} vs ${format(b, 0)}/s${range})`,
  };
}

const table = (header: string[], rows: string[][]): string =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

/** Each issue-12 goal under `condition`: met, not met, or (met undefined) not measured. */
export function goalResults(
  result: BenchResult,
  condition: Condition,
): { goal: string; met?: boolean; text: string }[] {
  return GOALS.map((g) => ({ goal: g.text, ...judge(result, g, condition) }));
}

export function renderMarkdown(result: BenchResult): string {
  const { meta } = result;
  const out: string[] = [];
  const loads = meta.rounds.map((r) => r.load.loadavg1);
  out.push(
    `Run of ${meta.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${Math.round(meta.durationSeconds / 60)} min: ` +
      `${meta.cores} × ${meta.cpuModel}, ${meta.memoryGb} GB RAM, Node ${meta.node}` +
      (meta.postgres ? `, ${meta.postgres}` : '') +
      (meta.mariadb ? `, ${meta.mariadb}` : '') +
      (meta.postgresSettings
        ? ` (${Object.entries(meta.postgresSettings)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')})`
        : '') +
      `. ${meta.options.rounds} round${meta.options.rounds === 1 ? '' : 's'}, systems interleaved (order rotated each round); ` +
      `${meta.options.tasks.toLocaleString('en-US')} tasks per bulk enqueue and drain, ` +
      `${meta.options.oneAtATime.toLocaleString('en-US')} enqueued one at a time, concurrency ${meta.options.concurrency}, ` +
      `${meta.options.latencySamples} latency samples every ${meta.options.latencyIntervalMs} ms. ` +
      `Load average (1 min) at the start of each round: ${loads.map((l) => l.toFixed(2)).join(', ')}. ` +
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
      GOALS.map((g) => [g.text, ...meta.options.conditions.map((c) => judge(result, g, c).text)]),
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
