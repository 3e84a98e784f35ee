/**
 * The one place that handles SIGINT and SIGTERM for the app's entry points (web server,
 * task worker, `./dev demo`): the first signal asks for a graceful stop, a second one for
 * a forced one. Only entry points call this; libraries never install signal handlers.
 */

/** Call `graceful` on the first SIGINT/SIGTERM and `forced` (when given) on the next. */
export function onShutdownSignal(
  graceful: (signal: NodeJS.Signals) => void | Promise<void>,
  forced?: (signal: NodeJS.Signals) => void | Promise<void>,
): void {
  let received = 0;
  const handle = (signal: NodeJS.Signals) => {
    received += 1;
    const run = received === 1 ? graceful : forced;
    if (!run) return;
    Promise.resolve(run(signal)).catch((error: unknown) => {
      console.error(`error while stopping after ${signal}:`, error);
      process.exit(1);
    });
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}
