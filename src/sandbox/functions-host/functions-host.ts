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
      if (!res.headersSent) send(res, 500, { error: 'internal error in the local host' });
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '').toLowerCase();
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { error: `request body larger than ${MAX_BODY_BYTES} bytes` });

    if (path === '/runtime/webhooks/eventgrid') return eventGrid(req, res, url, body);
    if (path === '/admin/host/status' && req.method === 'GET') return send(res, 200, { state: 'Running' });
    if (path.startsWith('/admin/functions/') && req.method === 'POST') {
      const definition = byName.get(path.slice('/admin/functions/'.length));
      if (!definition || definition.kind === 'http') return send(res, 404, { error: 'no such non-HTTP function' });
      if (definition.kind === 'timer') void runTimer(definition, undefined);
      else void invokeEvent(definition, JSON.parse(body.toString('utf8') || '{}'));
      return send(res, 202, undefined);
    }
    if (path.startsWith('/api/')) {
      const route = path.slice('/api/'.length);
      const match = httpRoutes.find((r) => r.route === route);
      if (!match) return send(res, 404, { error: `no HTTP function serves /api/${route}` });
      const methods = (match.definition.options.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase());
      if (!methods.includes((req.method ?? 'GET').toUpperCase())) return send(res, 405, { error: `method ${req.method} not allowed` });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const request = new HttpRequest({
        method: req.method ?? 'GET',
        url: `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`,
        headers,
        query: Object.fromEntries(url.searchParams),
        body: body.length > 0 ? { bytes: body } : undefined,
      });
      const result = await match.definition.options.handler(request, contextFor(match.definition.name, 'httpTrigger'));
      return sendFunctionResponse(res, result);
    }
    return send(res, 404, { error: 'not found' });
  }

  async function eventGrid(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): Promise<void> {
    // CloudEvents webhook abuse protection handshake.
    if (req.method === 'OPTIONS') {
      res.writeHead(200, { 'WebHook-Allowed-Origin': String(req.headers['webhook-request-origin'] ?? '*'), 'WebHook-Allowed-Rate': '*' });
      return void res.end();
    }
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST' });
    const name = url.searchParams.get('functionName') ?? '';
    const definition = byName.get(name.toLowerCase());
    if (!definition || definition.kind !== 'eventGrid') return send(res, 404, { error: `no Event Grid function named ${JSON.stringify(name)}` });
    const eventType = String(req.headers['aeg-event-type'] ?? '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      return send(res, 400, { error: `body is not JSON: ${format([error])}` });
    }
    const events = Array.isArray(parsed) ? parsed : [parsed];
    if (eventType === 'SubscriptionValidation') {
      const code = (events[0] as { data?: { validationCode?: unknown } } | undefined)?.data?.validationCode;
      if (typeof code !== 'string') return send(res, 400, { error: 'SubscriptionValidation without data.validationCode' });
      return send(res, 200, { validationResponse: code });
    }
    if (eventType === 'SubscriptionDeletion') return send(res, 202, undefined);
    if (eventType !== 'Notification') return send(res, 400, { error: `aeg-event-type must be Notification or SubscriptionValidation, got ${JSON.stringify(eventType)}` });

    let failed = 0;
    let next = 0;
    const worker = async () => {
      while (next < events.length) {
        const event = events[next++];
        if (!(await invokeEvent(definition, event))) failed += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.eventConcurrency ?? 8, events.length) }, worker));
    if (failed > 0) return send(res, 500, { error: `${failed} of ${events.length} invocations failed; Event Grid will retry the delivery` });
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
