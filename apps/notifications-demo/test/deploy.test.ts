/**
 * The compose file and Dockerfile, read: the services the deployment needs, and every command
 * the containers run is a file of this app. These run everywhere in `./dev test`; what the
 * images do when they run is checked for real by `./dev compose-check` (Docker) and, without
 * Docker, by production-tree.test.ts (the tree the image runs, built the same way).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APP_DIR } from './support/processes.ts';

const ROOT = join(APP_DIR, '..', '..');

interface Service {
  build?: { context: string; dockerfile: string };
  image?: string;
  user?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  container_name?: string;
  restart?: string;
}

const compose = parse(readFileSync(join(APP_DIR, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const dockerfile = readFileSync(join(APP_DIR, 'Dockerfile'), 'utf8');

describe('docker-compose.yml', () => {
  const { services } = compose;

  it('has PostgreSQL, MailHog, a one-off migration, the web app and a worker', () => {
    expect(Object.keys(services).sort()).toEqual(['db', 'mailhog', 'migrate', 'web', 'worker']);
    // MailHog's ports, on the same host ports unless MAILHOG_SMTP_PORT / MAILHOG_UI_PORT move them.
    expect(services.mailhog?.ports).toEqual([
      '${MAILHOG_SMTP_PORT:-1025}:1025',
      '${MAILHOG_UI_PORT:-8025}:8025',
    ]);
    expect(services.web?.ports).toEqual(['${WEB_PORT:-8000}:8000']);
    expect(services.db?.image).toMatch(/^postgres:/);
  });

  it('runs migrations once, before the web app and the workers', () => {
    expect(services.migrate?.command).toEqual(['node', 'src/manage.ts', 'migrate']);
    expect(services.migrate?.restart).toBe('no');
    for (const name of ['web', 'worker']) {
      expect(services[name]?.depends_on?.migrate).toEqual({
        condition: 'service_completed_successfully',
      });
    }
  });

  it('gives every long-running service a health check', () => {
    for (const name of ['db', 'mailhog', 'web', 'worker']) {
      const service = services[name];
      // The web service uses the image's HEALTHCHECK.
      const test = service?.healthcheck?.test ?? (name === 'web' ? ['HEALTHCHECK'] : undefined);
      expect(test, name).toBeDefined();
    }
    expect(dockerfile).toMatch(/^HEALTHCHECK [^\n]*\\\n\s+CMD .*\/health/m);
  });

  it('lets the worker scale: no published ports, no fixed container name', () => {
    expect(services.worker?.ports).toBeUndefined();
    expect(services.worker?.container_name).toBeUndefined();
  });

  it('runs the app as a non-root user with media on a volume, on the database backend', () => {
    for (const name of ['migrate', 'web', 'worker']) {
      const service = services[name];
      expect(service?.user, name).toBe('node');
      expect(service?.volumes, name).toContain('media:/data/media');
      expect(service?.environment?.TASK_BACKEND).toBe('database');
      expect(service?.environment?.DATABASE_URL).toMatch(/^postgresql:\/\/.+@db:5432\//);
      expect(service?.environment?.EMAIL_HOST).toBe('mailhog');
      expect(service?.environment?.EMAIL_PORT).toBe('1025');
    }
    expect(Object.keys(compose.volumes).sort()).toEqual(['media', 'pgdata']);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('runs commands that exist in this app, the ones the tests run', () => {
    const pkg = JSON.parse(readFileSync(join(APP_DIR, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const name of ['migrate', 'web', 'worker']) {
      const [node, script] = services[name]?.command ?? [];
      expect(node).toBe('node');
      expect(existsSync(join(APP_DIR, script ?? 'missing'))).toBe(true);
    }
    expect(pkg.scripts.start).toBe('node src/main.ts');
    expect(pkg.scripts.migrate).toBe('node src/manage.ts migrate');
    expect(pkg.scripts.worker).toBe('node src/manage.ts worker');
    expect(dockerfile).toMatch(/^CMD \["node", "src\/main.ts"\]$/m);
  });

  it('builds from the repository root and copies files that exist', () => {
    for (const name of ['migrate', 'web', 'worker']) {
      expect(services[name]?.build).toEqual({
        context: '../..',
        dockerfile: 'apps/notifications-demo/Dockerfile',
      });
    }
    // COPY lines that read the build context (not --from=another stage).
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      (m[1] ?? '').split(' '),
    );
    expect(copied.length).toBeGreaterThan(5);
    for (const source of copied) expect(existsSync(join(ROOT, source)), source).toBe(true);
  });
});

describe('Dockerfile', () => {
  it('runs the production tree that deploy/build-production.sh builds, without pnpm', () => {
    expect(dockerfile).toMatch(
      /^RUN apps\/notifications-demo\/deploy\/build-production\.sh \/out$/m,
    );
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages).toHaveLength(2);
    const runtime = stages[1] ?? '';
    expect(runtime).toMatch(/^node:24-bookworm-slim$/m);
    expect(runtime).not.toMatch(/pnpm/);
    expect(runtime).toMatch(/^COPY --from=build \/out\/node_modules node_modules$/m);
  });

  it('keeps the real base image names (local stand-ins only replace them where no registry answers)', () => {
    expect([...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])).toEqual([
      'node:24-bookworm-slim',
      'node:24-bookworm-slim',
    ]);
    expect(compose.services.db?.image).toBe('postgres:16-alpine');
    expect(compose.services.mailhog?.image).toBe('mailhog/mailhog:v1.0.1');
  });
});

describe('the compose check', () => {
  it('adds to the compose file only a host-network build (the private engine has no NAT)', () => {
    const local = parse(
      readFileSync(join(ROOT, '.ci', 'compose-check', 'compose.local.yml'), 'utf8'),
      { merge: true },
    ) as { services: Record<string, Record<string, unknown>> };
    expect(Object.keys(local.services).sort()).toEqual(['migrate', 'web', 'worker']);
    for (const [name, service] of Object.entries(local.services)) {
      expect(Object.keys(service), name).toEqual(['build']);
      expect(service['build'], name).toEqual({ ...compose.services[name]?.build, network: 'host' });
    }
  });
});
