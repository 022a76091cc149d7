/**
 * The double's HTTP server: a real `node:http` server on 127.0.0.1 that routes requests, resolves
 * ACL tokens, holds blocking queries (`?index=&wait=`) until the watched data changes or the wait
 * ends, and answers with Consul's headers (X-Consul-Index, -KnownLeader, -LastContact) and bodies.
 */
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ACL_NOT_FOUND, Authorizer, resolveToken } from './acl';
import type { AclOptions } from './acl';
import { catalogRoutes } from './catalog-routes';
import { DoubleCore } from './core';
import type { ConsulDoubleState, DropReply, HookReply, RequestHook } from './core';
import { kvRoutes } from './kv-routes';
import { checkHeaders, checkNoBody, checkQueryParams } from './strict-request';
import type { ReadAnswer } from './queries';
import type { DoubleConfig, Reply, Route } from './route';
import { OpError } from './catalog-kv-state';
import { listen, readBody, send } from '../http/http-io';
import { findRoute } from '../http/route-table';

export interface ConsulDoubleOptions {
  /** Default `dc1`. */
  readonly datacenter?: string;
  /** The name `/v1/agent/self` reports; default `consul-double`. */
  readonly nodeName?: string;
  /** Most operations one `/v1/txn` accepts (Consul: 64, newer versions 128); default 64. */
  readonly maxTxnOps?: number;
  /** Wait of a blocking query without `?wait=`; default 5 minutes, as in Consul. */
  readonly defaultWaitMs?: number;
  /** Cap on any blocking wait; default 10 minutes, as in Consul. */
  readonly maxWaitMs?: number;
  /** When set, every request needs a known token (see `AclOptions`); unset = ACLs disabled. */
  readonly acl?: AclOptions;
  readonly beforeRequest?: RequestHook;
  /** Serve HTTPS with this certificate (e.g. from `createTestPki()` of the ARM emulator). */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
}

export interface ConsulDouble {
  /** `http://127.0.0.1:<port>` (`https://` with `tls`), no trailing slash. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly state: ConsulDoubleState;
  /** Ends blocked queries, closes every connection and the listener. */
  close(): Promise<void>;
}

const ROUTES: readonly Route[] = [...catalogRoutes, ...kvRoutes];

function fill(opts: ConsulDoubleOptions): DoubleConfig {
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < 1) throw new TypeError(`ConsulDoubleOptions.${name} must be a positive integer, got ${String(value)}`);
    return v;
  };
  const maxWaitMs = positive('maxWaitMs', opts.maxWaitMs, 600_000);
  return {
    datacenter: opts.datacenter ?? 'dc1',
    nodeName: opts.nodeName ?? 'consul-double',
    maxTxnOps: positive('maxTxnOps', opts.maxTxnOps, 64),
    defaultWaitMs: Math.min(positive('defaultWaitMs', opts.defaultWaitMs, 300_000), maxWaitMs),
    maxWaitMs,
    acl: opts.acl,
  };
}

export async function startConsulDouble(opts: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  const config = fill(opts);
  const core = new DoubleCore();
  core.setBeforeRequest(opts.beforeRequest);
  let inFlight = 0;
  let drained: () => void = () => undefined;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight += 1;
    handle(core, config, req, res)
      .catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', String(error instanceof Error ? error.message : error));
        else res.destroy();
      })
      .finally(() => {
        inFlight -= 1;
        if (inFlight === 0) drained();
      });
  };
  const server = opts.tls ? createTlsServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, listener) : createServer(listener);
  // Clients keep their connections as with a real Consul: a 1 s hint (Keep-Alive: timeout=1) made
  // Node's agent drop every socket after one request.
  server.keepAliveTimeout = 5_000;
  const port = await listen(server, '127.0.0.1', 0);
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    state: core,
    close: async () => {
      // Held queries answer first (with what they have); a request stuck in a test's hook is cut after 1 s.
      core.close();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1_000);
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function handle(core: DoubleCore, config: DoubleConfig, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://double.invalid');
  const method = req.method ?? 'GET';
  const body = await readBody(req);
  const token = tokenOf(req, url.searchParams);
  const log = (status: number): void => {
    core.log.push({ method, path: url.pathname, query: url.search, status });
  };

  if (config.acl) res.setHeader('X-Consul-Default-ACL-Policy', 'deny');

  /** Answers with what a fault hook decided (an error, or a dropped connection); false when it let the request through. */
  const answeredByHook = (reply: void | HookReply | DropReply | undefined): boolean => {
    if (!reply) return false;
    if ('drop' in reply) {
      log(0);
      req.socket.destroy();
      return true;
    }
    for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
    send(res, reply.status, 'text/plain; charset=utf-8', reply.body ?? '');
    log(reply.status);
    return true;
  };
  const info = { method, path: url.pathname, query: url.searchParams, token };
  if (core.beforeRequest && answeredByHook(await core.beforeRequest(info))) return;

  const found = findRoute(ROUTES, method, (route) => route.pattern.exec(url.pathname) ?? undefined);
  if (!found || 'allowed' in found) {
    if (found) {
      res.setHeader('Allow', ['OPTIONS', ...found.allowed].join(','));
      send(res, 405, 'text/plain; charset=utf-8', `method ${method} not allowed`);
      log(405);
    } else {
      send(res, 404, 'text/plain; charset=utf-8', 'Invalid URL path: not a recognized HTTP API endpoint\n');
      log(404);
    }
    return;
  }

  try {
    checkHeaders(req.headers);
    checkNoBody(method, body);
    checkQueryParams(url.searchParams, found.route.params[method] ?? [], `${method} ${found.route.name}`);
  } catch (error) {
    if (!(error instanceof OpError)) throw error;
    send(res, error.status, 'text/plain; charset=utf-8', error.message);
    log(error.status);
    return;
  }

  const dc = url.searchParams.get('dc');
  if (dc && dc !== config.datacenter && found.route.acl !== false) {
    send(res, 500, 'text/plain; charset=utf-8', 'No path to datacenter');
    log(500);
    return;
  }

  const authz = found.route.acl === false ? Authorizer.allowAll() : resolveToken(config.acl, token);
  if (!authz) {
    send(res, 403, 'text/plain; charset=utf-8', ACL_NOT_FOUND);
    log(403);
    return;
  }

  let reply: Reply;
  const indexBefore = core.index;
  try {
    const args = found.match.slice(1).map((a) => decodeURIComponent(a ?? ''));
    reply = found.route.handle({ core, config, method, params: url.searchParams, body, authz, args });
  } catch (error) {
    if (!(error instanceof OpError)) throw error;
    send(res, error.status, 'text/plain; charset=utf-8', error.message);
    log(error.status);
    return;
  }
  // A write that committed may still be answered as failed (the client never learns it committed).
  if (core.index !== indexBefore && answeredByHook(core.afterWrite?.(info))) return;

  switch (reply.kind) {
    case 'json':
      for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
      send(res, reply.status ?? 200, 'application/json', toJson(reply.body, url.searchParams));
      log(reply.status ?? 200);
      return;
    case 'text':
      send(res, reply.status, 'text/plain; charset=utf-8', reply.body);
      log(reply.status);
      return;
    case 'read':
      log(await serveRead(core, config, url.searchParams, res, reply.compute));
      return;
  }
}

/** Serves a read once, or as a blocking query when `?index=` is above 0. Returns the status sent. */
async function serveRead(core: DoubleCore, config: DoubleConfig, params: URLSearchParams, res: ServerResponse, compute: () => ReadAnswer): Promise<number> {
  // Consul ignores empty values of both.
  const indexRaw = params.get('index') || null;
  const waitRaw = params.get('wait') || null;
  if (indexRaw !== null && !/^\d+$/.test(indexRaw)) return send(res, 400, 'text/plain; charset=utf-8', 'Invalid index');
  let waitMs = config.defaultWaitMs;
  if (waitRaw !== null) {
    const parsed = parseGoDuration(waitRaw);
    if (parsed === null) return send(res, 400, 'text/plain; charset=utf-8', 'Invalid wait time');
    waitMs = parsed;
  }
  waitMs = Math.min(waitMs, config.maxWaitMs);
  const minIndex = indexRaw === null ? 0 : Number(indexRaw);

  let answer = compute();
  if (minIndex > 0) {
    const deadline = Date.now() + waitMs;
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    while (answer.index <= minIndex && !core.closed && !abort.signal.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await core.nextChange(left, abort.signal);
      answer = compute();
    }
  }
  res.setHeader('X-Consul-Index', String(Math.max(1, answer.index)));
  res.setHeader('X-Consul-KnownLeader', 'true');
  res.setHeader('X-Consul-LastContact', '0');
  res.setHeader('X-Consul-Effective-Consistency', params.has('stale') ? 'stale' : params.has('consistent') ? 'consistent' : 'leader');
  if (answer.filtered) res.setHeader('X-Consul-Results-Filtered-By-ACLs', 'true');
  const status = answer.status ?? 200;
  if (answer.empty) return send(res, status, undefined, '');
  if (answer.raw) return send(res, status, 'text/plain; charset=utf-8', answer.raw);
  return send(res, status, 'application/json', toJson(answer.json ?? null, params));
}

/** `?pretty` indents as Consul's marshalJSON does (4 spaces and a final newline). */
function toJson(body: unknown, params: URLSearchParams): string {
  return params.has('pretty') ? `${JSON.stringify(body, null, 4)}\n` : JSON.stringify(body);
}

/** X-Consul-Token, then `Authorization: Bearer`, then `?token=` (Consul's order). */
function tokenOf(req: IncomingMessage, params: URLSearchParams): string {
  const header = req.headers['x-consul-token'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return params.get('token') ?? '';
}

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration (what Consul uses for `wait`), in milliseconds; null when invalid. */
export function parseGoDuration(raw: string): number | null {
  if (raw === '0') return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = part.exec(raw); m; m = part.exec(raw)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    consumed = part.lastIndex;
  }
  return consumed === raw.length && raw.length > 0 ? total : null;
}
