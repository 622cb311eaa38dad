// The HTTP side of a service's health: `/metrics` (Prometheus text exposition), `/healthz` (the
// process is alive and its event loop answers) and `/readyz` (200 when every readiness condition
// holds, 503 with the reasons otherwise). Plain node:http, bound to loopback unless configured.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsRegistry } from './prom-metrics.ts';
import type { Readiness } from './readiness.ts';

export interface MetricsServerOptions {
  readonly host: string;
  /** 0 takes a free port. */
  readonly port: number;
  readonly registry: MetricsRegistry;
  readonly readiness: Readiness;
}

export interface RunningMetricsServer {
  /** The bound port (the chosen one when 0 was asked). */
  readonly port: number;
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(
  options: MetricsServerOptions,
): Promise<RunningMetricsServer> {
  const { registry, readiness } = options;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (path) {
      case '/metrics':
        registry.exposition().then(
          (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (error: unknown) =>
            response
              .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
              .end(`metrics collection failed: ${String(error)}\n`),
        );
        return;
      case '/healthz':
        response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok\n');
        return;
      case '/readyz': {
        const state = readiness.state();
        response
          .writeHead(state.ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' })
          .end(
            state.ready
              ? 'ready\n'
              : `not ready:\n${state.reasons.map((r) => `- ${r}\n`).join('')}`,
          );
        return;
      }
      default:
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    }
  });
  // A scraper that keeps connections open must not hold up a service's exit.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    port,
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
