/**
 * `pnpm deploy` copies workspace packages with their development manifests, whose `exports`
 * point at TypeScript sources it does not copy (their `files` list `dist`). Apply each copied
 * package's `publishConfig` the way `pnpm pack` does, so the deployed tree runs the compiled
 * `dist/` that a registry install would. Usage: node apply-publish-config.ts OUT
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
if (!out) {
  console.error('usage: node apply-publish-config.ts OUT');
  process.exit(2);
}
const store = join(out, 'node_modules', '.pnpm');
let applied = 0;
for (const entry of readdirSync(store)) {
  if (!entry.startsWith('@djtasks+')) continue;
  const scope = join(store, entry, 'node_modules', '@djtasks');
  for (const name of readdirSync(scope)) {
    const file = join(scope, name, 'package.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const publish = manifest['publishConfig'] as Record<string, unknown> | undefined;
    if (!publish) continue;
    delete manifest['publishConfig'];
    Object.assign(manifest, publish);
    writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
    for (const target of exportTargets(manifest['exports'])) {
      if (!existsSync(join(scope, name, target))) {
        console.error(`apply-publish-config: ${file} exports ${target}, which is missing`);
        process.exit(1);
      }
    }
    applied += 1;
  }
}
if (applied === 0) {
  console.error(`apply-publish-config: no @djtasks package with publishConfig under ${store}`);
  process.exit(1);
}

function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return exports.endsWith('.d.ts') ? [] : [exports];
  if (exports && typeof exports === 'object') return Object.values(exports).flatMap(exportTargets);
  return [];
}
