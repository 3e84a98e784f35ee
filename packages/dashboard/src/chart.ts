/** The overview's chart, drawn on the server as SVG geometry (no script, no inline style). */
import type { FinishedMinute } from '@djtasks/backend-db';

/** One bar segment of the chart. */
export interface ChartBar {
  x: number;
  y: number;
  width: number;
  height: number;
  /** CSS class: `ok`, `failed` or `cancelled`. */
  kind: string;
  title: string;
}

/** What the template draws. */
export interface Chart {
  width: number;
  height: number;
  bars: ChartBar[];
  /** The highest per-minute total, the y axis' top. */
  max: number;
  total: number;
  firstLabel: string;
  lastLabel: string;
}

const WIDTH = 720;
const HEIGHT = 160;

const hhmm = (date: Date) => date.toISOString().slice(11, 16);

/** Stacked bars (successful, failed, cancelled) of results finished per minute. */
export function finishedChart(series: readonly FinishedMinute[]): Chart {
  const totals = series.map((m) => m.successful + m.failed + m.cancelled);
  const max = Math.max(1, ...totals);
  const slot = WIDTH / Math.max(1, series.length);
  const bars: ChartBar[] = [];
  series.forEach((m, i) => {
    let y = HEIGHT;
    const label = `${hhmm(m.minute)} UTC: ${m.successful} successful, ${m.failed} failed, ${m.cancelled} cancelled`;
    for (const [kind, n] of [
      ['ok', m.successful],
      ['failed', m.failed],
      ['cancelled', m.cancelled],
    ] as const) {
      if (n === 0) continue;
      const height = (n / max) * HEIGHT;
      y -= height;
      bars.push({
        x: round(i * slot + 1),
        y: round(y),
        width: round(Math.max(1, slot - 2)),
        height: round(height),
        kind,
        title: label,
      });
    }
  });
  return {
    width: WIDTH,
    height: HEIGHT,
    bars,
    max,
    total: totals.reduce((a, b) => a + b, 0),
    firstLabel: series[0] ? hhmm(series[0].minute) : '',
    lastLabel: series.at(-1) ? hhmm(series.at(-1)!.minute) : '',
  };
}

const round = (n: number) => Math.round(n * 10) / 10;
