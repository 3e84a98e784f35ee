/** The harness's handle on a forked worker process (`worker-process.ts`): send, wait, stop. */
import { fork, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { FromWorker, ToWorker } from './protocol.ts';
import type { BenchSystem } from './systems/types.ts';

const WORKER_PROCESS = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

/** A forked worker process with a way to wait for its next message of a kind. */
export class WorkerProcess {
  readonly #child: ChildProcess;
  readonly #inbox: FromWorker[] = [];
  #waiter: (() => void) | undefined;
  #exit: Promise<number | null>;

  constructor(system: BenchSystem, location: string, concurrency: number) {
    this.#child = fork(WORKER_PROCESS, [system.id, location, String(concurrency)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (message: FromWorker) => {
      this.#inbox.push(message);
      this.#waiter?.();
    });
    this.#exit = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
  }

  send(message: ToWorker): void {
    this.#child.send(message);
  }

  /** The next message of `type`, or undefined after `timeoutMs` (or if the process exits). */
  async next<T extends FromWorker['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<FromWorker, { type: T }> | undefined> {
    const deadline = performance.now() + timeoutMs;
    let exited = false;
    void this.#exit.then(() => {
      exited = true;
      this.#waiter?.();
    });
    for (;;) {
      const index = this.#inbox.findIndex((m) => m.type === type);
      if (index >= 0) return this.#inbox.splice(index, 1)[0] as Extract<FromWorker, { type: T }>;
      const left = deadline - performance.now();
      if (left <= 0 || exited) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
  }

  /** Ask for the report, let the worker stop, and make sure the process is gone. */
  async stop(): Promise<Extract<FromWorker, { type: 'report' }> | undefined> {
    this.send({ type: 'stop' });
    const report = await this.next('report', 30_000);
    const code = await Promise.race([this.#exit, sleep(30_000, 'timeout' as const)]);
    if (code === 'timeout') {
      console.error('  worker process did not exit within 30 s of stop; killing it');
      this.#child.kill('SIGKILL');
      await this.#exit;
    }
    return report;
  }

  async kill(): Promise<void> {
    this.#child.kill('SIGKILL');
    await this.#exit;
  }
}
