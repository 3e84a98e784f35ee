/**
 * Put a benchmark result into the package README: `node bench/render-readme.ts [result.json]`
 * (default bench/results/latest.json) replaces the text between the `bench:results` markers
 * with the run's tables and goals, and the text between the `bench:configuration` markers with
 * how each system was configured. Without a result file, only the configuration is rendered
 * (from the systems in the code).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfiguration, renderMarkdown, type BenchResult } from './report.ts';
import { SYSTEMS } from './systems/index.ts';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const file = process.argv[2] ?? fileURLToPath(new URL('./results/latest.json', import.meta.url));

function replaceBetween(text: string, name: string, content: string): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} block`);
  return `${text.slice(0, from + start.length)}\n\n${content}\n\n${text.slice(to)}`;
}

let readme = readFileSync(README, 'utf8');
if (existsSync(file)) {
  const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
  readme = replaceBetween(readme, 'results', renderMarkdown(result));
  readme = replaceBetween(readme, 'configuration', renderConfiguration(result));
  console.error(`README.md: results of ${result.meta.startedAt} from ${file}`);
} else {
  readme = replaceBetween(readme, 'configuration', renderConfiguration({ systems: [...SYSTEMS] }));
  console.error(`README.md: configuration only (no result file at ${file})`);
}
// The README is checked by prettier; format the rendered tables as it would.
const prettier = await import('prettier');
const config = await prettier.resolveConfig(README);
writeFileSync(README, await prettier.format(readme, { ...config, filepath: README }));
