#!/usr/bin/env node
/* global process, URL */
// The `djtasks` command. In the workspace it runs the TypeScript source (Node strips the
// types), so that it shares classes with a configuration that imports the source; the
// published package ships only the compiled `dist`.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli.ts', import.meta.url);
const entry = existsSync(source) ? source : new URL('../dist/cli.js', import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
