#!/usr/bin/env node
/* global process, URL */
// The `djtasks` command: loads the compiled CLI when published, the TypeScript source in the workspace.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli.js', import.meta.url);
const { main } = await import(existsSync(compiled) ? compiled.href : '../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
