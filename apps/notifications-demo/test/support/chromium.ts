/**
 * The Chromium the browser test drives. In order: CHROMIUM_PATH; Debian's /usr/bin/chromium;
 * the Chromium of Playwright's cache (`npx playwright-core install chromium`); otherwise,
 * as root with apt-get, Debian's chromium package is installed. Failing all of that, the
 * test fails with the command to run: it is never skipped silently.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const DEBIAN = '/usr/bin/chromium';

function playwrightChromium(): string | undefined {
  try {
    const path = chromium.executablePath();
    return path && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

async function aptInstallChromium(): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    run('apt-get', ['install', '-y', '-q', 'chromium'], { env, maxBuffer: 64 * 1024 * 1024 });
  try {
    await install();
  } catch {
    await run('apt-get', ['update', '-q'], { env, maxBuffer: 64 * 1024 * 1024 });
    await install();
  }
}

export async function chromiumPath(): Promise<string> {
  const configured = process.env['CHROMIUM_PATH'];
  if (configured) {
    if (!existsSync(configured)) throw new Error(`CHROMIUM_PATH=${configured} does not exist`);
    return configured;
  }
  if (existsSync(DEBIAN)) return DEBIAN;
  const playwright = playwrightChromium();
  if (playwright) return playwright;
  if (userInfo().uid === 0 && existsSync('/usr/bin/apt-get')) {
    console.log(
      "browser test: no Chromium found; installing Debian's (apt-get install -y chromium)",
    );
    await aptInstallChromium();
    if (existsSync(DEBIAN)) return DEBIAN;
  }
  throw new Error(
    'The browser test needs Chromium and found none. Install it with one of:\n' +
      '  sudo apt-get install -y chromium          (Debian, Ubuntu: /usr/bin/chromium)\n' +
      "  pnpm --filter notifications-demo exec playwright-core install chromium   (Playwright's build)\n" +
      'or set CHROMIUM_PATH to a Chromium or Chrome executable.',
  );
}
