/**
 * The overview's charts, drawn on the server as SVG geometry that the templates render (no
 * script, no inline style: colours come from the stylesheet's classes). Hand-written rather
 * than a chart library: a library would draw in the browser (a script and inline styles, which
 * the dashboard's CSP forbids) or pull a DOM into the server; bars, a line and an axis are a
 * few lines of arithmetic.
 */
import type { Throughput, ThroughputBucket } from '@djtasks/backend-db';

/** A rectangle of a bar chart. */
export interface ChartBar {
  x: number;
  y: number;
  width: number;
  height: number;
  /** CSS class: `ok`, `failed` or `cancelled`. */
  kind: string;
  /** The tooltip: the bucket's time and counts. */
  title: string;
}

/** A horizontal grid line with its value. */
export interface ChartTick {
  y: number;
  label: string;
}

/** A label under the x axis. */
export interface ChartLabel {
  x: number;
  label: string;
}

/** What a chart template draws. */
export interface Chart {
  width: number;
  height: number;
  /** The plot area's left edge and bottom (the axes). */
  left: number;
  bottom: number;
  bars: ChartBar[];
  /** Points of a line (`x,y x,y ...`), or empty for none. */
  line: string;
  ticks: ChartTick[];
  labels: ChartLabel[];
  /** A one-line description for screen readers and the caption. */
  summary: string;
}

const WIDTH = 600;
const HEIGHT = 190;
const LEFT = 40;
const TOP = 8;
const BOTTOM = HEIGHT - 22;
const PLOT = WIDTH - LEFT - 4;

const hhmm = (date: Date) => date.toISOString().slice(11, 16);
const round = (n: number) => Math.round(n * 10) / 10;

/** A round step (1, 2 or 5 times a power of ten) giving about four grid lines up to `max`. */
function axis(max: number): { top: number; step: number } {
  if (max <= 4) return { top: Math.max(1, max), step: 1 };
  const raw = max / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

function frame(buckets: readonly ThroughputBucket[], max: number) {
  const { top, step } = axis(max);
  const scale = (BOTTOM - TOP) / top;
  const ticks: ChartTick[] = [];
  for (let v = 0; v <= top; v += step) ticks.push({ y: round(BOTTOM - v * scale), label: `${v}` });
  const slot = PLOT / Math.max(1, buckets.length);
  // About six time labels, on whole buckets.
  const every = Math.max(1, Math.round(buckets.length / 6));
  const labels: ChartLabel[] = [];
  buckets.forEach((b, i) => {
    if (i % every === 0) labels.push({ x: round(LEFT + i * slot), label: hhmm(b.start) });
  });
  return { scale, slot, ticks, labels };
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${((part / whole) * 100).toFixed(part === whole ? 0 : 1)}%`;
}

/** Stacked bars of results finished per bucket (successful, failed, cancelled) and a line of those enqueued. */
export function throughputChart(throughput: Throughput): Chart {
  const buckets = throughput.total;
  const finished = (b: ThroughputBucket) => b.successful + b.failed + b.cancelled;
  const max = Math.max(0, ...buckets.map((b) => Math.max(finished(b), b.enqueued)));
  const { scale, slot, ticks, labels } = frame(buckets, max);
  const bars: ChartBar[] = [];
  const points: string[] = [];
  buckets.forEach((b, i) => {
    let y = BOTTOM;
    const title =
      `${hhmm(b.start)} UTC: ${b.enqueued} enqueued, ${b.started} started, ` +
      `${b.successful} successful, ${b.failed} failed, ${b.cancelled} cancelled`;
    for (const [kind, n] of [
      ['ok', b.successful],
      ['failed', b.failed],
      ['cancelled', b.cancelled],
    ] as const) {
      if (n === 0) continue;
      const height = n * scale;
      y -= height;
      bars.push({
        x: round(LEFT + i * slot + slot * 0.1),
        y: round(y),
        width: round(Math.max(1, slot * 0.8)),
        height: round(height),
        kind,
        title,
      });
    }
    points.push(`${round(LEFT + (i + 0.5) * slot)},${round(BOTTOM - b.enqueued * scale)}`);
  });
  const total = (field: keyof Omit<ThroughputBucket, 'start'>) =>
    buckets.reduce((n, b) => n + b[field], 0);
  const done = total('successful') + total('failed') + total('cancelled');
  return {
    width: WIDTH,
    height: HEIGHT,
    left: LEFT,
    bottom: BOTTOM,
    bars,
    line: total('enqueued') > 0 ? points.join(' ') : '',
    ticks,
    labels,
    summary: `${total('enqueued')} enqueued, ${total('started')} started, ${done} finished (${total('successful')} successful, ${total('failed')} failed, ${total('cancelled')} cancelled)`,
  };
}

/** Bars of results failed per bucket, each titled with the bucket's failure rate. */
export function failureChart(throughput: Throughput): Chart {
  const buckets = throughput.total;
  const max = Math.max(0, ...buckets.map((b) => b.failed));
  const { scale, slot, ticks, labels } = frame(buckets, max);
  const bars: ChartBar[] = [];
  let failed = 0;
  let ended = 0;
  buckets.forEach((b, i) => {
    const runs = b.successful + b.failed;
    failed += b.failed;
    ended += runs;
    if (b.failed === 0) return;
    bars.push({
      x: round(LEFT + i * slot + slot * 0.1),
      y: round(BOTTOM - b.failed * scale),
      width: round(Math.max(1, slot * 0.8)),
      height: round(b.failed * scale),
      kind: 'failed',
      title: `${hhmm(b.start)} UTC: ${b.failed} failed of ${runs} run to the end (${percent(b.failed, runs)})`,
    });
  });
  return {
    width: WIDTH,
    height: HEIGHT,
    left: LEFT,
    bottom: BOTTOM,
    bars,
    line: '',
    ticks,
    labels,
    summary: `${failed} failed of ${ended} run to the end (${percent(failed, ended)})`,
  };
}
