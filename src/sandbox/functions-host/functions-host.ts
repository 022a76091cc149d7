/**
 * A local host for people without Azure Functions Core Tools. It serves the routes `func start`
 * serves and invokes the same function definitions the runtime registers:
 * - `POST /runtime/webhooks/eventgrid?functionName=NAME` with `aeg-event-type`
 *   (SubscriptionValidation handshake, Notification deliveries in either schema, one invocation
 *   per event as the Event Grid extension does; any failed invocation → 500 so Event Grid retries);
 * - `/api/<route>` for HTTP functions (keys are not enforced locally, as with `func start`);
 * - `POST /admin/functions/NAME` to run a non-HTTP function now (as the Functions admin API does);
 * - timers on their NCRONTAB schedule, one invocation at a time per timer (the runtime's singleton).
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { HttpRequest, HttpResponse, InvocationContext, type HttpResponseInit, type LogLevel, type Timer } from '@azure/functions';
import { Cron } from 'croner';
import type { FunctionDefinition } from '../../functions/definitions';

export interface HostLogRecord {
  readonly time: string;
  readonly functionName: string;
  readonly invocationId: string;
  readonly level: LogLevel;
  readonly message: string;
}

export interface FunctionsHostOptions {
  readonly definitions: readonly FunctionDefinition[];
  /** Default 7071, like `func start`; 0 picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Start timers on their schedules (default true). */
  readonly runTimers?: boolean;
  /** Where function logs and the host's own lines go (default: one line per record on stdout). */
  readonly log?: (record: HostLogRecord) => void;
  /** Invocations of one delivery running at once (default 8); the app coalesces per scale set. */
  readonly eventConcurrency?: number;
}

export interface FunctionsHost {
  readonly url: string;
  /** Runs a timer (or any non-HTTP function with no input) now and waits for it. */
  invoke(name: string): Promise<void>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024; // Event Grid caps a delivery at 1 MB; leave room for tests.

function defaultLog(record: HostLogRecord): void {
  process.stdout.write(`[${record.time}] ${record.functionName} ${record.level}: ${record.message}\n`);
}

function format(args: unknown[]): string {
  return args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.stack ?? a.message : JSON.stringify(a))).join(' ');
}

export async function startFunctionsHost(options: FunctionsHostOptions): Promise<FunctionsHost> {
  const log = options.log ?? defaultLog;
  const byName = new Map(options.definitions.map((d) => [d.name.toLowerCase(), d]));
  const httpRoutes = options.definitions.flatMap((d) => (d.kind === 'http' ? [{ definition: d, route: (d.options.route ?? d.name).toLowerCase() }] : []));

  const contextFor = (functionName: string, triggerType: string) => {
    const invocationId = randomUUID();
    return new InvocationContext({
      invocationId,
      functionName,
      options: { trigger: { type: triggerType, name: 'trigger' } as never },
      logHandler: (level, ...args) => log({ time: new Date().toISOString(), functionName, invocationId, level, message: format(args) }),
    });
  };
  const hostLog = (level: LogLevel, message: string) => log({ time: new Date().toISOString(), functionName: 'host', invocationId: '-', level, message });

  const running = new Map<string, Promise<void>>();
  const runTimer = async (definition: Extract<FunctionDefinition, { kind: 'timer' }>, cron: Cron | undefined, isPastDue = false) => {
    const key = definition.name;
    const busy = running.get(key);
    if (busy) {
      hostLog('information', `${definition.name}: previous run still in progress, this tick is skipped (singleton)`);
      return busy;
    }
    const timer: Timer = {
      isPastDue,
      schedule: { adjustForDST: true },
      scheduleStatus: { last: new Date().toISOString(), next: cron?.nextRun()?.toISOString() ?? '', lastUpdated: new Date().toISOString() },
    };
    const run = (async () => {
      try {
        await definition.options.handler(timer, contextFor(definition.name, 'timerTrigger'));
      } catch (error) {
        hostLog('error', `${definition.name} failed: ${format([error])}`);
      } finally {
        running.delete(key);
      }
    })();
    running.set(key, run);
    return run;
  };

  const crons: Cron[] = [];
  if (options.runTimers !== false) {
    for (const definition of options.definitions) {
      if (definition.kind !== 'timer') continue;
      const cron: Cron = new Cron(definition.options.schedule, { protect: true }, () => void runTimer(definition, cron));
      crons.push(cron);
      if (definition.options.runOnStartup) void runTimer(definition, cron);
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      hostLog('error', `unhandled: ${format([error])}`);
      if (!res.headersSent) sendMessage(res, 500, 'internal error in the local host');
    });
  });

  // Requests node:http cannot parse (bad request line, header or framing) never reach `handle`:
  // answer them with a message too, instead of node's bare status line.
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket) => {
    if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) return void socket.destroy();
    const [status, reason, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'request headers too large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'request not received in time']
          : [400, 'Bad Request', `malformed HTTP request (${error.code ?? 'parse error'})`];
    const head = error.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${head ? '' : message}`);
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req).catch(() => null);
    if (body === null) return; // the client went away mid-request: nobody to answer
    if (body === undefined) return sendMessage(res, 413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    const url = requestUrl(req);
    if (url === undefined) return sendMessage(res, 400, `request target is not a URL path: ${JSON.stringify(req.url ?? '')}`);
    const path = url.pathname.replace(/\/+$/, '').toLowerCase();

    if (path === '/runtime/webhooks/eventgrid') return eventGrid(req, res, url, body);
    if (path === '/admin/host/status' && req.method === 'GET') return send(res, 200, { state: 'Running' });
    if (path.startsWith('/admin/functions/') && req.method === 'POST') return adminInvoke(res, decoded(path.slice('/admin/functions/'.length)), body);
    if (path.startsWith('/api/')) {
      const route = decoded(path.slice('/api/'.length));
      const match = httpRoutes.find((r) => r.route === route);
      if (!match) return sendMessage(res, 404, `no HTTP function serves /api/${route}`);
      const methods = (match.definition.options.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase());
      if (!methods.includes((req.method ?? 'GET').toUpperCase())) return sendMessage(res, 405, `method ${req.method} not allowed`);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const request = new HttpRequest({
        method: req.method ?? 'GET',
        url: url.href,
        headers,
        query: Object.fromEntries(url.searchParams),
        body: body.length > 0 ? { bytes: body } : undefined,
      });
      let result: HttpResponseInit | HttpResponse | void;
      try {
        result = await match.definition.options.handler(request, contextFor(match.definition.name, 'httpTrigger'));
      } catch (error) {
        hostLog('error', `${match.definition.name} failed: ${format([error])}`);
        return sendMessage(res, 500, `Exception while executing function: ${match.definition.name}`);
      }
      return sendFunctionResponse(res, result);
    }
    return sendMessage(res, 404, 'not found');
  }

  /** `POST /admin/functions/NAME` with `{"input": ...}` (the host's FunctionInvocation): run a non-HTTP function now, answer 202. */
  function adminInvoke(res: http.ServerResponse, name: string, body: Buffer): void {
    const definition = byName.get(name.toLowerCase());
    // The host's own answer for an unknown name (and for HTTP functions, which the admin API does not run).
    if (!definition || definition.kind === 'http') return sendMessage(res, 404, `cannot find function: '${name}'`);
    const parsed = parseJson(body, '{}');
    if (!parsed.ok) return sendMessage(res, 400, `request body is not JSON: ${parsed.message}`);
    if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
      return sendMessage(res, 400, `request body must be a JSON object like {"input": ...}, got ${jsonKind(parsed.value)}`);
    }
    if (definition.kind === 'timer') {
      void runTimer(definition, undefined);
      return send(res, 202, undefined);
    }
    // The input of an Event Grid function is the event: a JSON string (what the portal's Test/Run sends) or JSON itself.
    const input: unknown = (parsed.value as { input?: unknown }).input;
    let event: unknown = input;
    if (typeof input === 'string') {
      const inner = parseJson(Buffer.from(input, 'utf8'), 'null');
      if (!inner.ok) return sendMessage(res, 400, `input is not a JSON event: ${inner.message}`);
      event = inner.value;
    }
    void invokeEvent(definition, event);
    return send(res, 202, undefined);
  }

  /**
   * The Event Grid extension's webhook (Microsoft.Azure.WebJobs.Extensions.EventGrid): same statuses
   * and plain-text messages; a body that is not JSON or not an object/array is a 400 here, not an
   * exception (the extension lets that one escape as a 500).
   */
  async function eventGrid(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): Promise<void> {
    // CloudEvents webhook abuse protection handshake.
    if (req.method === 'OPTIONS') {
      const origin = String(req.headers['webhook-request-origin'] ?? '*');
      res.writeHead(200, { 'WebHook-Allowed-Origin': /^[\x21-\x7e]+$/.test(origin) ? origin : '*', 'WebHook-Allowed-Rate': '*' });
      return void res.end();
    }
    if (req.method !== 'POST') return sendMessage(res, 405, 'use POST');
    const name = url.searchParams.get('functionName') ?? '';
    const definition = byName.get(name.toLowerCase());
    if (!definition || definition.kind !== 'eventGrid') return sendMessage(res, 404, `cannot find function: '${name}'`);
    const eventType = String(req.headers['aeg-event-type'] ?? '').toLowerCase();
    if (eventType === 'subscriptiondeletion' || eventType === 'unsubscribe') return send(res, 202, undefined);
    if (eventType !== 'notification' && eventType !== 'subscriptionvalidation') {
      return sendMessage(res, 400, `aeg-event-type must be Notification or SubscriptionValidation, got ${JSON.stringify(req.headers['aeg-event-type'] ?? '')}`);
    }
    const parsed = parseJson(body);
    if (!parsed.ok) return sendMessage(res, 400, `request body is not JSON: ${parsed.message}`);
    if (typeof parsed.value !== 'object' || parsed.value === null) {
      return sendMessage(res, 400, `The request content should be parseable into a JSON object or array, but was ${jsonKind(parsed.value)}.`);
    }
    const events: unknown[] = Array.isArray(parsed.value) ? parsed.value : [parsed.value];
    if (eventType === 'subscriptionvalidation') {
      const code = (events[0] as { data?: { validationCode?: unknown } } | undefined)?.data?.validationCode;
      if (typeof code !== 'string') return sendMessage(res, 400, 'SubscriptionValidation without data.validationCode');
      return send(res, 200, { validationResponse: code });
    }

    let failed = 0;
    let next = 0;
    const worker = async () => {
      while (next < events.length) {
        const event = events[next++];
        if (!(await invokeEvent(definition, event))) failed += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.eventConcurrency ?? 8, events.length) }, worker));
    if (failed > 0) {
      return sendMessage(res, 500, `Exception while executing function: ${definition.name} (${failed} of ${events.length} invocations failed; Event Grid will retry the delivery)`);
    }
    return send(res, 202, undefined);
  }

  async function invokeEvent(definition: Extract<FunctionDefinition, { kind: 'eventGrid' }>, event: unknown): Promise<boolean> {
    const context = contextFor(definition.name, 'eventGridTrigger');
    try {
      await definition.options.handler(event, context);
      return true;
    } catch (error) {
      context.error(`invocation failed: ${format([error])}`);
      return false;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 7071, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as import('node:net').AddressInfo;
  const hostName = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${hostName}:${address.port}`,
    async invoke(name) {
      const definition = byName.get(name.toLowerCase());
      if (!definition || definition.kind !== 'timer') throw new TypeError(`no timer function named ${name}`);
      await runTimer(definition, undefined);
    },
    async close() {
      for (const cron of crons) cron.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.allSettled([...running.values()]);
    },
  };
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The request target as a URL, or undefined when it is not one (absolute-form targets keep only their path and query). */
function requestUrl(req: http.IncomingMessage): URL | undefined {
  const address = req.socket.localAddress ?? '127.0.0.1';
  const fallback = `http://${address.includes(':') ? `[${address}]` : address}:${req.socket.localPort ?? 0}`;
  const host = req.headers.host;
  let base = fallback;
  if (host !== undefined && URL.canParse(`http://${host}`)) {
    const candidate = new URL(`http://${host}`);
    // Only a bare host[:port] becomes the base: "user@host" or "host/path" in a Host header is not an authority we serve.
    if (candidate.username === '' && candidate.password === '' && candidate.pathname === '/' && `${candidate.host}`.toLowerCase() === host.toLowerCase()) base = candidate.origin;
  }
  let target = req.url ?? '/';
  if (!target.startsWith('/')) {
    // Absolute form ("http://host/path"): serve its path and query.
    if (!URL.canParse(target)) return undefined;
    const absolute = new URL(target);
    if (absolute.protocol !== 'http:' && absolute.protocol !== 'https:') return undefined;
    target = `${absolute.pathname}${absolute.search}`;
  }
  // Appended to the origin, "//x/y" stays a path (resolved against a base it would name host x).
  return URL.canParse(`${base}${target}`) ? new URL(`${base}${target}`) : undefined;
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

type JsonResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

/** JSON.parse without the stack: the message is what a client may see. `empty` is what an empty body means (none: an error). */
function parseJson(body: Buffer, empty?: string): JsonResult {
  const text = body.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '' && empty !== undefined) return { ok: true, value: JSON.parse(empty) as unknown };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** An error answer: a one-line plain-text message, as the Functions host and its Event Grid extension answer. */
function sendMessage(res: http.ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(message) });
  res.end(message);
}

function send(res: http.ServerResponse, status: number, json: unknown): void {
  if (json === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  const body = JSON.stringify(json);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function sendFunctionResponse(res: http.ServerResponse, result: HttpResponseInit | HttpResponse | void): Promise<void> {
  const response = result instanceof HttpResponse ? result : new HttpResponse(result ?? { status: 204 });
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => (headers[key] = value));
  const body = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, headers);
  res.end(body);
}
