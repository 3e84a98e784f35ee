/**
 * The server's connection limits on their own (the app's tests in limits.test.ts cover slow
 * clients end to end): a request the app is slow to answer keeps its connection, an idle
 * connection is closed, and clients are told how long an idle connection is kept.
 */
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer } from '../src/http-server.ts';

const IDLE_MS = 1000;
let close: (() => Promise<void>) | undefined;

afterEach(async () => {
  await close?.();
  close = undefined;
});

async function listen(answerAfterMs: number): Promise<number> {
  const server = createHttpServer(
    (request, response) => {
      request.resume();
      request.once('end', () => {
        void sleep(answerAfterMs).then(() => response.end('done'));
      });
    },
    { requestTimeoutMs: 30_000, idleTimeoutMs: IDLE_MS },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return (server.address() as AddressInfo).port;
}

describe('createHttpServer', () => {
  it('answers a request the app takes longer than the idle timeout to handle', async () => {
    const port = await listen(IDLE_MS * 2);
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('done');
  });

  it('tells clients how long it keeps an idle connection', async () => {
    const port = await listen(0);
    const response = await fetch(`http://127.0.0.1:${port}/`);
    await response.text();
    expect(response.headers.get('keep-alive')).toBe(`timeout=${IDLE_MS / 1000}`);
  });

  it('closes a connection that sends nothing, and one left idle after its answer', async () => {
    const port = await listen(0);
    const silent = connect(port, '127.0.0.1');
    silent.on('data', () => undefined);
    // The test's timeout is what fails this when the server never closes it.
    await new Promise<void>((resolve) => silent.once('close', () => resolve()));

    const kept = connect(port, '127.0.0.1');
    let received = '';
    kept.on('data', (chunk: Buffer) => (received += chunk.toString()));
    kept.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await new Promise<void>((resolve) => kept.once('close', () => resolve()));
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n(4\r\n)?done/);
  });
});
