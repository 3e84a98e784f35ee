/**
 * The nunjucks templates of `src/templates/` (Django-like `{% extends %}` / `{% block %}`
 * and autoescaping): pages go through @fastify/view; emails are rendered here, in whatever
 * process or thread runs the task.
 */
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';

export const TEMPLATES_DIR = fileURLToPath(new URL('./templates/', import.meta.url));

const loader = () => new nunjucks.FileSystemLoader(TEMPLATES_DIR);
/** HTML: every value escaped unless marked `| safe`. */
const htmlTemplates = new nunjucks.Environment(loader(), {
  autoescape: true,
  throwOnUndefined: true,
});
/** Plain text (email bodies): nothing to escape. */
const textTemplates = new nunjucks.Environment(loader(), {
  autoescape: false,
  throwOnUndefined: true,
});

/** Render an HTML template with `context`. */
export function renderHtml(name: string, context: object): string {
  return htmlTemplates.render(name, context);
}

/** Render a plain-text template with `context`. */
export function renderText(name: string, context: object): string {
  return textTemplates.render(name, context);
}
