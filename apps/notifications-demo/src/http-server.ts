/**
 * The HTTP server under fastify, with limits for slow clients: the whole request (headers
 * and body) must arrive within `requestTimeoutMs`, even when it trickles in a byte at a time,
 * and a connection that carries nothing for `idleTimeoutMs` while no request is being
 * answered on it is closed. Node checks request deadlines every `connectionsCheckingInterval`
 * (30 s by default), which fastify does not expose, hence a server factory.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ServerTimeouts {
  requestTimeoutMs: number;
  idleTimeoutMs: number;
}

export function createHttpServer(
  handler: RequestListener,
  { requestTimeoutMs, idleTimeoutMs }: ServerTimeouts,
): Server {
  // Requests being answered on each connection. Node's socket timeout alone would also drop
  // a connection whose request the app takes longer than the idle timeout to answer (a slow
  // login hash on a busy machine), with no response at all.
  const answering = new WeakMap<Socket, number>();
  const server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, requestTimeoutMs),
    },
    (request, response) => {
      const socket = request.socket;
      answering.set(socket, (answering.get(socket) ?? 0) + 1);
      response.once('close', () => answering.set(socket, (answering.get(socket) ?? 1) - 1));
      handler(request, response);
    },
  );
  // Between requests too, and the `Keep-Alive: timeout=` header tells clients, so they do not
  // send a request on a connection the server is about to close.
  server.keepAliveTimeout = idleTimeoutMs;
  server.setTimeout(idleTimeoutMs);
  server.on('timeout', (socket: Socket) => {
    if (!answering.get(socket)) socket.destroy();
  });
  return server;
}
