// Packs @djtasks/tasks as it would be published and uses the tarball from a scratch
// project outside the workspace: compiled JavaScript on plain Node, and the .d.ts files with tsc.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = resolve(import.meta.dirname, '..');
const workspaceRoot = resolve(packageDir, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'djtasks-pack-'));

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

describe('the packed @djtasks/tasks', { timeout: 180_000 }, () => {
  beforeAll(() => {
    run('pnpm', ['pack', '--pack-destination', scratch], packageDir);
    const tarball = readdirSync(scratch).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`pnpm pack wrote no tarball into ${scratch}`);
    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
    );
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=error',
        `./${tarball}`,
      ],
      scratch,
    );
    // A hook does not take the describe block's timeout: packing (which builds) and installing
    // run up to 120 s each on a loaded machine.
  }, 300_000);

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('runs on plain Node from compiled JavaScript', () => {
    writeFileSync(
      join(scratch, 'use.mjs'),
      `
import { task, configureTasks, DummyBackend, TaskResultStatus, taskBackends } from '@djtasks/tasks';
import { BaseTaskBackend, runTaskAttempt } from '@djtasks/tasks/backend';
const add = task(function add(a, b) { return a + b; });
const result = await add.enqueue(2, 3);
configureTasks({ backends: { default: { backend: DummyBackend } } });
const stored = await add.using({ priority: 5 }).enqueue(1, 1);
await taskBackends.close();
console.log(JSON.stringify({
  status: result.status, value: result.returnValue, stored: stored.status === TaskResultStatus.READY,
  base: typeof BaseTaskBackend, lifecycle: typeof runTaskAttempt,
  resolved: import.meta.resolve('@djtasks/tasks'),
}));
`,
    );
    const output = JSON.parse(
      run(process.execPath, ['--no-experimental-strip-types', 'use.mjs'], scratch),
    ) as Record<string, unknown>;
    expect(output).toMatchObject({
      status: 'SUCCESSFUL',
      value: 5,
      stored: true,
      base: 'function',
      lifecycle: 'function',
    });
    expect(output.resolved).toMatch(/node_modules\/@djtasks\/tasks\/dist\/index\.js$/);
  });

  it('ships declarations that type-check a consumer', () => {
    writeFileSync(
      join(scratch, 'use.ts'),
      `
import { task, type TaskResult } from '@djtasks/tasks';
const greet = task(function greet(name: string) { return { hello: name }; });
export const pending: Promise<TaskResult<{ hello: string }>> = greet.enqueue('world');
// @ts-expect-error: a number is not a string
void greet.enqueue(1);
`,
    );
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2024',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          typeRoots: [join(workspaceRoot, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['use.ts'],
      }),
    );
    const tsc = join(workspaceRoot, 'node_modules/typescript/bin/tsc');
    expect(run(process.execPath, [tsc, '-p', 'tsconfig.json'], scratch)).toBe('');
  });
});
