/**
 * The relay's admin HTTP server (loopback by default: it shows the whole mesh and every client):
 *   GET /healthz              200 while the process serves (liveness)
 *   GET /readyz               200 once the first complete state from Consul is loaded, else 503
 *                             (also 503 while shutting down, so load balancers move on)
 *   GET /metrics              Prometheus text format
 *   GET /debug/config_dump    the resources currently served, per profile, as JSON
 *   GET /debug/clients        each connected xDS client: profile, subscriptions, versions, last NACK
 * Anything else is 404; other methods 405. Handlers only read: nothing here changes the relay.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { ClientStatus } from '../ads/ads-hooks';
import type { RelayMetrics } from './metrics';

export interface Readiness {
  readonly ready: boolean;
  /** Why not (shown in the 503 body). */
  readonly reason?: string;
}

export interface AdminServerOptions {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  readonly metrics: RelayMetrics;
  readonly readiness: () => Readiness;
  readonly configDump: () => unknown;
  readonly clients: () => readonly ClientStatus[];
  /** Called with a handler's unexpected error (the response is a 500). */
  readonly onError?: (error: unknown, path: string) => void;
}

export interface AdminServer {
  /** `http://host:port`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

type Handler = (res: ServerResponse) => Promise<void> | void;

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const routes: Readonly<Record<string, Handler>> = {
    '/healthz': (res) => send(res, 200, 'text/plain; charset=utf-8', 'ok\n'),
    '/readyz': (res) => {
      const r = options.readiness();
      sendJson(res, r.ready ? 200 : 503, r.ready ? { ready: true } : { ready: false, reason: r.reason ?? 'not ready' });
    },
    '/metrics': async (res) => {
      const { contentType, text } = await options.metrics.exposition();
      send(res, 200, contentType, text);
    },
    '/debug/config_dump': (res) => sendJson(res, 200, options.configDump()),
    '/debug/clients': (res) => sendJson(res, 200, { clients: options.clients() }),
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    const route = routes[path];
    if (!route) return sendJson(res, 404, { error: `no such endpoint: ${path}`, endpoints: Object.keys(routes) });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendJson(res, 405, { error: `method ${req.method} not allowed` });
    }
    Promise.resolve()
      .then(() => route(res))
      .catch((error: unknown) => {
        options.onError?.(error, path);
        if (!res.headersSent) sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
        else res.destroy();
      });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${isIP(options.host) === 6 ? `[${options.host}]` : options.host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body, null, 2)}\n`);
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
