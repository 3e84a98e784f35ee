#!/usr/bin/env node
/* global process, URL */
// The `djtasks` command. In the workspace it runs the TypeScript source (Node strips the
// types), so that it shares classes with a configuration that imports the source; the
// published package ships only the compiled `dist`.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli.ts', import.meta.url);
const entry = existsSync(source) ? source : new URL('../dist/cli.js', import.meta.url);
const { main } = await import(entry.href);
// Exit with the code once the command is done: a task that never returns, or a connection
// that never closes, must not keep a stopped worker alive.
process.exit(await main(process.argv.slice(2), { exit: (code) => process.exit(code) }));
