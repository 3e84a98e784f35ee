/** The dashboard's nunjucks environment (autoescaping on) with its filters, and query string helpers. */
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';

const templates = new URL('../templates/', import.meta.url);

/** A duration in milliseconds as people read it: `850 ms`, `1.2 s`, `3.4 min`, `2.1 h`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** How long ago (or how far ahead) a time is, roughly. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} days`;
}

/** The environment that renders the templates of `templates/`. */
export function environment(): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(fileURLToPath(templates)), {
    autoescape: true,
  });
  env.addFilter('iso', (date: Date | null) =>
    date ? date.toISOString().replace(/\.\d+Z$/, 'Z') : '—',
  );
  env.addFilter('json', (value: unknown) => JSON.stringify(value, null, 2));
  env.addFilter('age', (date: Date | null) => (date ? age(Date.now() - date.getTime()) : '—'));
  env.addFilter('until', (date: Date | null) => (date ? age(date.getTime() - Date.now()) : '—'));
  env.addFilter('duration', duration);
  return env;
}

/** A query string value as a list (`?status=FAILED&status=READY` or `?status=FAILED,READY`). */
export function values(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The first non-empty value of a query string parameter, whole (commas and all). */
export function single(value: unknown): string | undefined {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((v) => String(v).trim()).find((v) => v !== '');
}
