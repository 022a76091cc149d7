/**
 * The HTTPS front of the ARM emulator. Checks happen in ARM's order: authentication, api-version,
 * throttling (injected faults first, then the per-subscription token bucket), routing, body. Every
 * request is logged (route name, status) for tests that count calls.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listen, readBody } from '../http/http-io';
import { ArmEmulatorError } from './arm-error';
import type { JsonOptions } from './arm-json';
import { RequestLog } from './request-log';
import { findRoute } from './router';
import type { Reply, Route } from './router';
import { computeRoutes } from './routes-compute';
import { networkRoutes } from './routes-network';
import { ConcurrencyCounter, DEFAULT_RATE_LIMITS, FaultInjector, RateLimiter, operationKind } from './throttling';
import type { BucketSettings, OperationKind, PageFaultKind, ResourcePolicy } from './throttling';
import { createTestPki } from './tls';
import type { TestPki } from './tls';
import { ArmWorld } from './world';
import type { WorldOptions } from './world';
import type { ArmOperationRecord } from './world-types';

export interface ArmEmulatorOptions {
  /** An existing world to serve, or options for a new one (which the emulator then owns and closes). */
  readonly world?: ArmWorld | WorldOptions;
  /** The only bearer token accepted. Default: any non-empty token. */
  readonly token?: string;
  /** Items per page of every list. Default 5 (small, so clients must follow nextLink). */
  readonly pageSize?: number;
  /** Token buckets per subscription; `false` turns rate limiting off. Default ARM's published limits. */
  readonly rateLimits?: Partial<Record<OperationKind, BucketSettings>> | false;
  /** Resource-provider read policies reported in `x-ms-ratelimit-remaining-resource` (e.g. COMPUTE_READ_POLICIES). Default none. */
  readonly resourcePolicies?: readonly ResourcePolicy[];
  /** Reproduce ARM's upper-cased resource group in ID references. Default true. */
  readonly upperCaseResourceGroupInReferences?: boolean;
  /** Called for every ARM write/delete/action (REST or world API). Same as `world.on('operation')`. */
  readonly onOperation?: (operation: ArmOperationRecord) => void;
  /** Certificates to serve; default: generated at start. */
  readonly pki?: TestPki;
  /** Newest requests kept in `requests`. Default 10 000. */
  readonly requestLogLimit?: number;
  /** Loopback address to bind. Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
}

export interface ArmEmulator {
  /** `https://127.0.0.1:<port>`: use as the ARM endpoint. */
  readonly url: string;
  /** PEM of the CA that signed the server certificate: trust it, do not disable verification. */
  readonly caPem: string;
  readonly world: ArmWorld;
  readonly requests: RequestLog;
  /** Injected throttling / failures for the next requests. */
  readonly faults: FaultInjector;
  /** Requests in flight, now and at most (per route too). */
  readonly concurrency: ConcurrencyCounter;
  /** Stops the server (dropping open connections) and clears the world's timers if the emulator created it. */
  close(): Promise<void>;
}

const ROUTES: readonly Route[] = [...computeRoutes, ...networkRoutes];
const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

function authenticate(header: string | undefined, token: string | undefined): string | undefined {
  if (header === undefined) return "The 'Authorization' header is missing.";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) return "The 'Authorization' header is not a Bearer token.";
  if (token !== undefined && match[1] !== token) return 'The access token is invalid.';
  return undefined;
}

export async function startArmEmulator(options: ArmEmulatorOptions = {}): Promise<ArmEmulator> {
  const ownsWorld = !(options.world instanceof ArmWorld);
  const world = options.world instanceof ArmWorld ? options.world : new ArmWorld(options.world);
  const pageSize = options.pageSize ?? 5;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new TypeError(`pageSize must be a positive integer, got ${pageSize}`);
  if (options.token !== undefined && options.token.trim() === '') throw new TypeError('token must not be empty (leave it unset to accept any token)');
  const limiter = options.rateLimits === false ? undefined : new RateLimiter({ ...DEFAULT_RATE_LIMITS, ...(options.rateLimits ?? {}) }, options.resourcePolicies);
  const concurrency = new ConcurrencyCounter();
  const json: JsonOptions = { upperCaseResourceGroupInReferences: options.upperCaseResourceGroupInReferences ?? true };
  const requests = new RequestLog(options.requestLogLimit);
  const faults = new FaultInjector();
  const pki = options.pki ?? (await createTestPki());
  const onOperation = options.onOperation;
  if (onOperation) world.on('operation', onOperation);
  let baseUrl = '';

  async function process(req: IncomingMessage, url: URL, method: string, routeMatch: ReturnType<typeof findRoute>, headers: Record<string, string>): Promise<Reply> {
    const authProblem = authenticate(req.headers.authorization, options.token);
    if (authProblem) {
      headers['www-authenticate'] = `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="${authProblem}"`;
      throw new ArmEmulatorError(401, 'AuthenticationFailed', `Authentication failed. ${authProblem}`);
    }
    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion === null || apiVersion === '') {
      throw new ArmEmulatorError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    }
    if (!API_VERSION.test(apiVersion)) {
      throw new ArmEmulatorError(400, 'InvalidApiVersionParameter', `The api-version '${apiVersion}' is invalid. The supported versions are 'yyyy-mm-dd' dates.`);
    }
    const routeName = routeMatch && 'route' in routeMatch ? routeMatch.route.name : null;
    const delayMs = faults.takeDelay({ method, route: routeName, path: url.pathname });
    if (delayMs !== undefined) await holdFor(delayMs);
    const gathering = faults.takeGathering({ method, route: routeName, path: url.pathname });
    if (gathering) await gathering.join(holdFor(gathering.deadlineMs));
    const fault = faults.take({ method, route: routeName, path: url.pathname });
    if (fault) {
      if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
      throw new ArmEmulatorError(fault.status, fault.code, fault.message);
    }
    const subscription = /^\/subscriptions\/([^/]+)/i.exec(url.pathname)?.[1];
    if (limiter && subscription) {
      const charged = limiter.charge(subscription, method, url.pathname);
      Object.assign(headers, charged.headers);
      if (!charged.allowed) {
        headers['retry-after'] = String(charged.retryAfterSeconds);
        throw new ArmEmulatorError(429, 'TooManyRequests', `The request is being throttled: a ${operationKind(method)} limit of the subscription has been reached. Retry after ${charged.retryAfterSeconds} seconds.`);
      }
    }
    if (!routeMatch) throw new ArmEmulatorError(404, 'InvalidResourceType', `The ARM emulator does not serve ${method} ${url.pathname}.`);
    if ('allowed' in routeMatch) throw new ArmEmulatorError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
    const raw = (await readBody(req)).toString('utf8');
    let body: unknown;
    if (raw.trim() !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        throw new ArmEmulatorError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized: not JSON.');
      }
    }
    const answer = routeMatch.route.handle({
      world,
      params: routeMatch.match,
      query: url.searchParams,
      body,
      method,
      path: url.pathname,
      url: url.toString(),
      baseUrl,
      pageSize,
      json,
      correlationId: headers['x-ms-correlation-request-id'] ?? randomUUID(),
    });
    const pageFault = answer.status === 200 ? faults.takePageFault({ method, route: routeName, path: url.pathname }) : undefined;
    return pageFault ? wrongPage(answer, pageFault, url) : answer;
  }

  // A held request ends at close (its socket is destroyed then); the timer must not keep the process alive.
  const holds = new Set<() => void>();
  function holdFor(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        holds.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      holds.add(done);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', baseUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    const routeMatch = findRoute(ROUTES, method, url.pathname);
    const leave = concurrency.enter(routeMatch && 'route' in routeMatch ? routeMatch.route.name : null);
    res.once('close', leave);
    const clientRequestId = req.headers['x-ms-client-request-id'];
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-cache',
      'x-ms-request-id': randomUUID(),
      'x-ms-correlation-request-id': typeof clientRequestId === 'string' && clientRequestId ? clientRequestId : randomUUID(),
    };
    let reply: Reply;
    try {
      reply = await process(req, url, method, routeMatch, headers);
    } catch (error) {
      reply =
        error instanceof ArmEmulatorError
          ? { status: error.status, body: error.toBody() }
          : { status: 500, body: { error: { code: 'InternalServerError', message: `ARM emulator bug: ${error instanceof Error ? error.message : String(error)}` } } };
    }
    req.resume(); // drain a body the handler never read
    const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
    res.writeHead(reply.status, { ...headers, ...(reply.headers ?? {}), 'content-length': String(Buffer.byteLength(payload)) });
    res.end(payload);
    leave();
    const query: Record<string, string> = {};
    url.searchParams.forEach((value, name) => (query[name] = value));
    requests.add({
      method,
      path: url.pathname,
      query,
      route: routeMatch && 'route' in routeMatch ? routeMatch.route.name : null,
      status: reply.status,
      throttled: reply.status === 429,
      at,
    });
  }

  const server = createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  // Track raw sockets: closeAllConnections() misses sockets still in their TLS handshake, which
  // would then hold close() for a keep-alive timeout.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, host, options.port ?? 0);
  baseUrl = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closed: Promise<void> | undefined;
  return {
    url: baseUrl,
    caPem: pki.caPem,
    world,
    requests,
    faults,
    concurrency,
    close() {
      closed ??= new Promise<void>((resolve) => {
        if (onOperation) world.off('operation', onOperation);
        if (ownsWorld) world.close();
        for (const release of [...holds]) release();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}

/** Rewrites a list answer into the wrong page `kind` describes (see `PageFaultKind`). */
function wrongPage(answer: Reply, kind: PageFaultKind, url: URL): Reply {
  const body = answer.body as { value?: unknown[]; nextLink?: string } | undefined;
  if (!body || !Array.isArray(body.value)) return answer;
  const link = (token: string) => {
    const next = new URL(url.toString());
    next.searchParams.set('$skiptoken', token);
    return next.toString();
  };
  switch (kind) {
    case 'empty-page': {
      // The real page follows: the same request again (the fault was used up by this answer; the
      // marker only makes the nextLink differ from the request, as ARM's own links do).
      const next = new URL(url.toString());
      next.searchParams.set('chaos-empty-page', String(Date.now()));
      return { ...answer, body: { value: [], nextLink: next.toString() } };
    }
    case 'drop-last-item':
      return { ...answer, body: { ...body, value: body.value.slice(0, -1) } };
    case 'broken-next-link':
      return { ...answer, body: { ...body, nextLink: link('not-a-valid-token') } };
  }
}
