/** The page's script and stylesheet (served from this origin: the CSP allows nothing else). */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { sendError } from '../http.ts';

const FILES: Record<string, { type: string; body: Buffer }> = {
  'app.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(new URL('../static/app.js', import.meta.url)),
  },
  'favicon.svg': {
    type: 'image/svg+xml',
    body: readFileSync(new URL('../static/favicon.svg', import.meta.url)),
  },
  'app.css': {
    type: 'text/css; charset=utf-8',
    body: readFileSync(new URL('../static/app.css', import.meta.url)),
  },
};

export function staticViews(app: FastifyInstance): void {
  app.get<{ Params: { name: string } }>('/static/:name', (request, reply) => {
    const file = Object.hasOwn(FILES, request.params.name) ? FILES[request.params.name] : undefined;
    if (!file) return sendError(reply, 404, 'Not found.');
    return reply.type(file.type).header('cache-control', 'public, max-age=300').send(file.body);
  });

  app.get('/favicon.ico', (_request, reply) => reply.redirect('/static/favicon.svg', 301));
  app.get('/health', () => ({ ok: true }));
}
