/** The goals of issue 12, judged from a result file: met, not met, or not measured. */
import type { Condition } from './measure.ts';
import { format, median, METRICS, values, type BenchResult, type Metric } from './metrics.ts';

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

export function goalResults(
  result: BenchResult,
  condition: Condition,
): { goal: string; met?: boolean; text: string }[] {
  return GOALS.map((g) => ({ goal: g.text, ...judge(result, g, condition) }));
}
