/**
 * A local host for people without Azure Functions Core Tools. It loads the packaged Functions app
 * (dist/functions-app) as the Node.js worker does, with the stand-in of `@azure/functions-core`
 * (src/sandbox/functions-worker), and serves what `func start` serves from the metadata the app
 * registered — every request, delivery and tick becomes an RPC InvocationRequest run through the
 * app's own programming model (`@azure/functions`' conversion code, as in Azure):
 * - `POST /runtime/webhooks/eventgrid?functionName=NAME` with `aeg-event-type`
 *   (SubscriptionValidation handshake answered by the host, Notification deliveries in either
 *   schema, one invocation per event as the Event Grid extension does; any failed invocation →
 *   500 so Event Grid retries);
 * - `/<routePrefix>/<route>` for HTTP triggers (route, methods from their bindings; keys are not
 *   enforced locally, as with `func start`);
 * - `POST /admin/functions/NAME` to run a non-HTTP function now (as the Functions admin API does);
 * - timers on their NCRONTAB schedule with their retry policy, one run at a time per timer;
 * - `GET /metrics` (not served by `func start`): the app's OpenTelemetry metrics as Prometheus text
 *   (local-metrics.ts), unless the app exports them to Azure Monitor.
 */
import http from 'node:http';
import type { LogLevel } from '@azure/functions';
import type { RpcInvocationRequest, RpcInvocationResponse, RpcLog } from '../functions-worker/core-api';
import { triggerOf } from '../functions-worker/bindings';
import type { RegisteredFunction } from '../functions-worker/functions-core';
import { loadFunctionsApp, type FunctionsApp } from '../functions-worker/load-app';
import { packagedApp } from '../functions-worker/packaged-app';
import { BodyTooLargeError, listen, readBody } from '../http/http-io';
import { answerClientError, decoded, jsonKind, parseJson, requestUrl, send, sendMessage, MAX_BODY_BYTES } from './http-io';
import { httpRoutesOf, routePrefixOf } from './http-routes';
import { eventGridInvocation, failureOf, httpAnswerOf, httpInvocation } from './rpc-messages';
import { timerTrigger, type TimerTrigger } from './timer-trigger';
import { installLocalMetrics, type LocalMetrics } from './local-metrics';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus-text';

/** How long close() lets busy connections finish before it cuts them. */
const CLOSE_GRACE_MS = 500;

export interface HostLogRecord {
  readonly time: string;
  /** The function the line belongs to; 'host' for the host's own lines, 'worker' for the worker's. */
  readonly functionName: string;
  readonly invocationId: string;
  readonly level: LogLevel;
  readonly message: string;
}

export interface FunctionsHostOptions {
  /** The Functions app folder (package.json `main`, host.json). Default: the packaged app, dist/functions-app. */
  readonly appDirectory?: string;
  /** The app's environment (its `process.env`, i.e. the app settings). Default: this process's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
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
  /** Runs a timer now (one attempt, or the run in progress) and waits for it. */
  invoke(name: string): Promise<void>;
  /**
   * Work in flight now: requests from arrival to their answer, invocations (including those the
   * admin API starts in the background) and timer runs (including one waiting to retry). 0 = the
   * host can write nothing until a new request or tick. Absent where the host cannot tell (func start).
   */
  inFlight?(): number;
  close(): Promise<void>;
}

export interface LocalFunctionsHost extends FunctionsHost {
  inFlight(): number;
  /** The loaded app: its functions with the metadata they registered. */
  readonly app: FunctionsApp;
  /** The HTTP routes served, from the registered bindings (path with the route prefix, e.g. "/api/status"). */
  readonly routes: ReadonlyArray<{ readonly functionName: string; readonly methods: readonly string[]; readonly path: string; readonly authLevel: string }>;
}

function defaultLog(record: HostLogRecord): void {
  process.stdout.write(`[${record.time}] ${record.functionName} ${record.level}: ${record.message}\n`);
}

/** What the worker sends the host, as log records: every user line; the worker's own from warning up. */
function recordOf(log: RpcLog): HostLogRecord | undefined {
  const level = log.level ?? 'information';
  if (log.logCategory === 'system' && (level === 'trace' || level === 'debug' || level === 'information' || level === 'none')) return undefined;
  const functionName = log.category?.endsWith('.Invocation') ? log.category.slice(0, -'.Invocation'.length) : 'worker';
  return { time: new Date().toISOString(), functionName, invocationId: log.invocationId ?? '-', level, message: log.message ?? '' };
}

export async function startFunctionsHost(options: FunctionsHostOptions = {}): Promise<LocalFunctionsHost> {
  const log = options.log ?? defaultLog;
  const hostLog = (level: LogLevel, message: string, functionName = 'host', invocationId = '-') => log({ time: new Date().toISOString(), functionName, invocationId, level, message });
  const packaged = options.appDirectory === undefined ? packagedApp() : undefined;
  if (packaged?.warning) hostLog('warning', packaged.warning);
  // Before the app builds its runtime (its instruments come from the provider registered then).
  const appEnv = options.env ?? process.env;
  const localMetrics: LocalMetrics | undefined = appEnv.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim() ? undefined : installLocalMetrics();
  const app = await loadFunctionsApp({
    appDirectory: options.appDirectory ?? packaged?.directory,
    env: appEnv,
    log: (line) => {
      const record = recordOf(line);
      if (record) log(record);
    },
  });

  const prefix = routePrefixOf(app.directory);
  const httpRoutes = httpRoutesOf(app.functions);
  const kindOf = (fn: RegisteredFunction) => triggerOf(fn.metadata).type.toLowerCase();

  /** One invocation through the worker, its failure logged as the host logs it. */
  /** Requests being answered plus invocations running (a request's invocations count in both). */
  let busy = 0;
  const run = async (fn: RegisteredFunction, request: RpcInvocationRequest): Promise<{ response: RpcInvocationResponse; failure: string | undefined }> => {
    const started = Date.now();
    busy += 1;
    const response = await app.invoke(request).finally(() => void (busy -= 1));
    const failure = failureOf(response);
    if (failure !== undefined) {
      hostLog('error', `Executed '${fn.metadata.name}' (Failed, Id=${request.invocationId}, Duration=${Date.now() - started}ms): ${failure}`, fn.metadata.name ?? 'host', request.invocationId ?? '-');
    }
    return { response, failure };
  };
  const failureOfRun = async (fn: RegisteredFunction, request: RpcInvocationRequest) => (await run(fn, request)).failure;

  const timers = new Map<string, TimerTrigger>();
  for (const fn of app.functions) {
    if (kindOf(fn) !== 'timertrigger') continue;
    timers.set(
      (fn.metadata.name ?? '').toLowerCase(),
      timerTrigger({ fn, env: app.env, invoke: (request) => failureOfRun(fn, request), note: (level, message) => hostLog(level, message) }),
    );
  }
  if (options.runTimers !== false) for (const timer of timers.values()) timer.start();

  const server = http.createServer((req, res) => {
    // In flight from arrival until the answer is sent or the connection is gone, whichever comes first.
    busy += 1;
    let counted = true;
    const done = () => {
      if (counted) busy -= 1;
      counted = false;
    };
    res.once('finish', done);
    res.once('close', done);
    handle(req, res).catch((error: unknown) => {
      hostLog('error', `unhandled: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!res.headersSent) sendMessage(res, 500, 'internal error in the local host');
      else res.destroy();
    });
  });
  server.on('clientError', answerClientError);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req, { maxBytes: MAX_BODY_BYTES, overflow: 'drain' }).catch((error: unknown) => (error instanceof BodyTooLargeError ? undefined : null));
    if (body === null) return; // the client went away mid-request: nobody to answer
    if (body === undefined) return sendMessage(res, 413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    const url = requestUrl(req);
    if (url === undefined) return sendMessage(res, 400, `request target is not a URL path: ${JSON.stringify(req.url ?? '')}`);
    const path = url.pathname.replace(/\/+$/, '').toLowerCase();

    if (path === '/runtime/webhooks/eventgrid') return eventGrid(req, res, url, body);
    if (path === '/admin/host/status' && req.method === 'GET') return send(res, 200, { state: 'Running' });
    if (path === '/metrics' && req.method === 'GET') return metricsPage(res);
    if (path.startsWith('/admin/functions/') && req.method === 'POST') return adminInvoke(res, decoded(path.slice('/admin/functions/'.length)), body);
    const segments = url.pathname.split('/').filter((s) => s !== '').map(decoded);
    const prefixSegments = prefix === '' ? [] : prefix.split('/');
    if (prefixSegments.every((p, i) => segments[i]?.toLowerCase() === p.toLowerCase()) && (prefix === '' || segments.length > prefixSegments.length)) {
      return httpTrigger(req, res, url, body, segments.slice(prefixSegments.length));
    }
    return sendMessage(res, 404, 'not found');
  }

  async function httpTrigger(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer, segments: string[]): Promise<void> {
    const shown = `/${prefix ? `${prefix}/` : ''}${segments.join('/')}`;
    const matches = httpRoutes.flatMap((route) => {
      const params = route.match(segments);
      return params ? [{ route, params }] : [];
    });
    if (matches.length === 0) return sendMessage(res, 404, `no HTTP function serves ${shown}`);
    const method = (req.method ?? 'GET').toUpperCase();
    const match = matches.find((m) => m.route.methods.includes(method));
    if (!match) return sendMessage(res, 405, `method ${req.method} not allowed`);
    const { fn } = match.route;
    const request = httpInvocation(fn, { method, url, rawHeaders: req.rawHeaders, body, params: match.params });
    const { response, failure } = await run(fn, request);
    if (failure !== undefined) return sendMessage(res, 500, `Exception while executing function: ${fn.metadata.name}`);
    const answer = httpAnswerOf(response);
    const headers: Array<[string, string]> = answer.headers.filter(([k]) => !['content-length', 'transfer-encoding', 'connection'].includes(k.toLowerCase())).map(([k, v]) => [k, v]);
    headers.push(['content-length', String(answer.body.length)]);
    res.writeHead(answer.status, headers.flat());
    res.end(method === 'HEAD' ? undefined : answer.body);
  }

  async function metricsPage(res: http.ServerResponse): Promise<void> {
    if (!localMetrics) return sendMessage(res, 404, 'the app exports its metrics to Azure Monitor (APPLICATIONINSIGHTS_CONNECTION_STRING is set)');
    const text = await localMetrics.prometheus();
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  /** `POST /admin/functions/NAME` with `{"input": ...}` (the host's FunctionInvocation): run a non-HTTP function now, answer 202. */
  function adminInvoke(res: http.ServerResponse, name: string, body: Buffer): void {
    const fn = app.find(name);
    // The host's own answer for an unknown name (and for HTTP functions, which the admin API does not run).
    if (!fn || kindOf(fn) === 'httptrigger') return sendMessage(res, 404, `cannot find function: '${name}'`);
    const parsed = parseJson(body, '{}');
    if (!parsed.ok) return sendMessage(res, 400, `request body is not JSON: ${parsed.message}`);
    if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
      return sendMessage(res, 400, `request body must be a JSON object like {"input": ...}, got ${jsonKind(parsed.value)}`);
    }
    const timer = timers.get(name.toLowerCase());
    if (timer) {
      void timer.runNow();
      return send(res, 202, undefined);
    }
    if (kindOf(fn) !== 'eventgridtrigger') return sendMessage(res, 404, `cannot find function: '${name}'`);
    // The input of an Event Grid function is the event: a JSON string (what the portal's Test/Run sends) or JSON itself.
    const input: unknown = (parsed.value as { input?: unknown }).input;
    let event: unknown = input;
    if (typeof input === 'string') {
      const inner = parseJson(Buffer.from(input, 'utf8'), 'null');
      if (!inner.ok) return sendMessage(res, 400, `input is not a JSON event: ${inner.message}`);
      event = inner.value;
    }
    void failureOfRun(fn, eventGridInvocation(fn, event));
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
    const fn = app.find(name);
    if (!fn || kindOf(fn) !== 'eventgridtrigger') return sendMessage(res, 404, `cannot find function: '${name}'`);
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
      // The extension reads data.validationCode of the first event; a CloudEvent's data may come JSON-encoded in a string.
      let data: unknown = (events[0] as { data?: unknown } | null | undefined)?.data;
      if (typeof data === 'string') data = parseJson(Buffer.from(data, 'utf8')).ok ? (JSON.parse(data) as unknown) : undefined;
      const code = (data as { validationCode?: unknown } | null | undefined)?.validationCode;
      if (typeof code !== 'string') return sendMessage(res, 400, 'SubscriptionValidation without data.validationCode');
      return send(res, 200, { validationResponse: code });
    }

    let failed = 0;
    let next = 0;
    const worker = async () => {
      while (next < events.length) {
        const event = events[next++];
        if ((await failureOfRun(fn, eventGridInvocation(fn, event))) !== undefined) failed += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.eventConcurrency ?? 8, events.length) }, worker));
    if (failed > 0) {
      return sendMessage(res, 500, `Exception while executing function: ${fn.metadata.name} (${failed} of ${events.length} invocations failed; Event Grid will retry the delivery)`);
    }
    return send(res, 202, undefined);
  }

  await listen(server, options.host ?? '127.0.0.1', options.port ?? 7071);
  const address = server.address() as import('node:net').AddressInfo;
  const hostName = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${hostName}:${address.port}`,
    app,
    routes: httpRoutes.map((r) => ({ functionName: r.fn.metadata.name ?? '', methods: r.methods, path: `/${prefix ? `${prefix}/` : ''}${r.template}`, authLevel: r.authLevel })),
    inFlight: () => busy + [...timers.values()].filter((t) => t.running()).length,
    async invoke(name) {
      const timer = timers.get(name.toLowerCase());
      if (!timer) throw new TypeError(`no timer function named ${name}`);
      await timer.runNow();
    },
    close() {
      closed ??= (async () => {
        // server.close() waits for every open connection: idle keep-alive ones are closed at once,
        // and after a short grace any still busy (an invocation that hangs) are cut, so close()
        // returns. The hung invocation itself runs on; its answer has nowhere to go.
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        await serverClosed;
        clearTimeout(grace);
        await Promise.all([...timers.values()].map((t) => t.stop()));
        await app.terminate();
      })();
      return closed;
    },
  };
}
