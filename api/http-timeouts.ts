/**
 * The HTTP server's time limits, set on purpose: Node's defaults leave the body without any limit (fastify's
 * requestTimeout is 0) and check the others only every 30 s.
 */

import type { Server } from 'node:http';
import type { FastifyHttpOptions } from 'fastify';
import type { Config } from '../schemas/config.js';

export function httpTimeouts(
  http: Config['http'],
): Pick<FastifyHttpOptions<Server>, 'requestTimeout' | 'connectionTimeout' | 'keepAliveTimeout' | 'http'> {
  return {
    // Headers and body together; Node answers 408 and closes the socket when it runs out. Only the request's
    // arrival is timed: a slow answer (a report, a store wait) is not cut by it.
    requestTimeout: http.requestTimeoutMs,
    // Socket inactivity in both directions, e.g. a client that stops reading a long answer.
    connectionTimeout: http.idleTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    http: {
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      // Node enforces both timeouts only when it sweeps its connections; the default sweep is every 30 s.
      connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(http.headersTimeoutMs / 4))),
    },
  };
}
