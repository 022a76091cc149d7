/**
 * The sandbox's control server: the status page at `/`, the state as JSON (`GET /api/state`) and
 * as a live stream (`GET /api/events`, Server-Sent Events), and actions (`POST /api/actions`).
 * It knows nothing about how the world works: the orchestrator hands it `state()` and `act()`
 * (and optionally `onChange`), so tests drive it with a fake world.
 *
 * Loopback only unless told otherwise. Because any web page the user visits could otherwise post
 * to a loopback port, actions need `Content-Type: application/json` (which a cross-site page
 * cannot send without a CORS preflight this server never approves), a cross-origin `Origin` is
 * refused, and the `Host` header must name a loopback host (against DNS rebinding).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { BodyTooLargeError, listen, readBody } from '../http/http-io';
import { ConfigError, errorMessage, InvalidInputError, TransientError } from '../../shared/errors';
import type { SandboxAction, SandboxState } from '../sandbox-state';
import { STATUS_PAGE } from '../web/status-page';
import { parseSandboxAction } from './action-schema';
import { removeDiscoveryFile, writeDiscoveryFile, type DiscoveryRecord } from './discovery';
import { StateBroadcaster } from './state-broadcaster';

export interface ActionResult {
  readonly ok: boolean;
  readonly message: string;
}

export interface ControlServerOptions {
  /** Current state; called per request and per push, so it must be cheap and must not block. */
  readonly state: () => SandboxState;
  /**
   * Carries out an action. Resolve `{ok: false, message}` for a refusal the user can fix (unknown
   * scale set or instance, …: answered 422); throw `InvalidInputError` for 400, `TransientError`
   * for 503; anything else is answered 500.
   */
  readonly act: (action: SandboxAction) => Promise<ActionResult>;
  /**
   * Subscribes to changes of the world; returns an unsubscribe function. The listener is cheap
   * (it only schedules a push). Without it the server polls `state()` every `pollMs`.
   */
  readonly onChange?: (listener: () => void) => () => void;
  /** Default 7080; 0 picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. A non-loopback address needs `allowRemote`. */
  readonly host?: string;
  /** Bind a non-loopback address (anyone who reaches it can scale and fail instances). Default false. */
  readonly allowRemote?: boolean;
  /** Directory under which `.vmss-mesh/sandbox.json` is written; default `process.cwd()`; `null` = no file. */
  readonly discoveryDir?: string | null;
  /** Smallest gap between two pushed states (default 200 ms: at most 5 per second). */
  readonly minPushIntervalMs?: number;
  /** Heartbeat event period on /api/events (default 15 000 ms). */
  readonly heartbeatMs?: number;
  /** Poll period when there is no `onChange` (default 1000 ms). */
  readonly pollMs?: number;
  /** One-line diagnostics (a failing `state()`, …). Default: none. */
  readonly log?: (line: string) => void;
}

export interface ControlServer {
  /** Base URL, e.g. `http://127.0.0.1:7080`. */
  readonly url: string;
  readonly port: number;
  /** Path of the discovery file, when one was written. */
  readonly discoveryFile?: string;
  close(): Promise<void>;
}

interface Settings {
  readonly port: number;
  readonly host: string;
  readonly discoveryDir: string | null;
  readonly minPushIntervalMs: number;
  readonly heartbeatMs: number;
  readonly pollMs: number;
  readonly log: (line: string) => void;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const MAX_BODY_BYTES = 16 * 1024;

function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function settingsOf(options: ControlServerOptions): Settings {
  const port = options.port ?? 7080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`port must be an integer 0–65535, got ${String(options.port)}`);
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.allowRemote) throw new TypeError(`host ${JSON.stringify(host)} is not a loopback address; pass allowRemote: true to expose the sandbox's controls beyond this machine`);
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v <= 0) throw new TypeError(`${name} must be a positive number of milliseconds, got ${String(value)}`);
    return v;
  };
  const minPushIntervalMs = options.minPushIntervalMs ?? 200;
  if (!Number.isFinite(minPushIntervalMs) || minPushIntervalMs < 0) throw new TypeError(`minPushIntervalMs must be 0 or more, got ${String(options.minPushIntervalMs)}`);
  return {
    port,
    host,
    discoveryDir: options.discoveryDir === undefined ? process.cwd() : options.discoveryDir,
    minPushIntervalMs,
    heartbeatMs: positive('heartbeatMs', options.heartbeatMs, 15_000),
    pollMs: positive('pollMs', options.pollMs, 1000),
    log: options.log ?? (() => undefined),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(text);
}

function sendResult(res: ServerResponse, status: number, message: string, headers?: Record<string, string>): void {
  sendJson(res, status, { ok: status < 300, message }, headers);
}

/** Answers an action request; every outcome is `{ok, message}` with a status that says who must act. */
async function handleAction(req: IncomingMessage, res: ServerResponse, options: ControlServerOptions, afterAction: () => void): Promise<void> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    sendResult(res, 415, 'actions must be sent as JSON with the header Content-Type: application/json');
    return;
  }
  let action: SandboxAction;
  try {
    // Too large is refused with 413 rather than 400: the body may be fine, just too big for a control request.
    const text = (await readBody(req, { maxBytes: MAX_BODY_BYTES, overflow: 'stop' })).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new InvalidInputError(`request body is not JSON: ${errorMessage(error)}`);
    }
    action = parseSandboxAction(body);
  } catch (error) {
    sendResult(res, error instanceof BodyTooLargeError ? 413 : 400, errorMessage(error));
    return;
  }
  let result: ActionResult;
  try {
    result = await options.act(action);
  } catch (error) {
    if (error instanceof InvalidInputError) sendResult(res, 400, error.message);
    else if (error instanceof TransientError) sendResult(res, 503, error.message, error.retryAfterMs ? { 'retry-after': String(Math.ceil(error.retryAfterMs / 1000)) } : {});
    else sendResult(res, 500, `the sandbox failed to carry out the action: ${errorMessage(error)}`);
    return;
  } finally {
    afterAction();
  }
  sendJson(res, result.ok ? 200 : 422, { ok: result.ok, message: result.message });
}

/** Host must be loopback when we listen on loopback; Origin, when sent, must be this server. */
function refusal(req: IncomingMessage, loopbackOnly: boolean): { status: number; message: string } | undefined {
  const hostHeader = req.headers.host ?? '';
  if (loopbackOnly) {
    let hostname: string;
    try {
      hostname = new URL(`http://${hostHeader}`).hostname;
    } catch {
      return { status: 400, message: 'bad Host header' };
    }
    if (!isLoopback(hostname)) return { status: 403, message: `Host ${JSON.stringify(hostHeader)} is not a loopback name; the sandbox answers only on this machine` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${hostHeader}`) return { status: 403, message: `cross-origin requests are refused (Origin ${origin})` };
  return undefined;
}

export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const settings = settingsOf(options);
  const broadcaster = new StateBroadcaster({
    state: options.state,
    minIntervalMs: settings.minPushIntervalMs,
    heartbeatMs: settings.heartbeatMs,
    onError: (error) => settings.log(`control server: reading the sandbox state failed: ${errorMessage(error)}`),
  });
  const changed = () => broadcaster.changed();
  const unsubscribe = options.onChange ? options.onChange(changed) : undefined;
  const poller = options.onChange ? undefined : setInterval(changed, settings.pollMs);
  poller?.unref();
  const loopbackOnly = isLoopback(settings.host);

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const refused = refusal(req, loopbackOnly);
    if (refused) {
      sendResult(res, refused.status, refused.message);
      return;
    }
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    switch (route) {
      case 'GET /':
      case 'GET /index.html':
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy': STATUS_PAGE.contentSecurityPolicy,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        });
        res.end(STATUS_PAGE.html);
        return;
      case 'GET /favicon.ico':
        res.writeHead(204).end();
        return;
      case 'GET /api/state': {
        let state: SandboxState;
        try {
          state = options.state();
        } catch (error) {
          sendResult(res, 500, `reading the sandbox state failed: ${errorMessage(error)}`);
          return;
        }
        sendJson(res, 200, state);
        return;
      }
      case 'GET /api/events':
        broadcaster.attach(res);
        return;
      case 'POST /api/actions':
        handleAction(req, res, options, changed).catch((error: unknown) => {
          settings.log(`control server: action request failed: ${errorMessage(error)}`);
          if (!res.headersSent) sendResult(res, 500, errorMessage(error));
          else res.destroy();
        });
        return;
      default: {
        const allowed = { '/': 'GET', '/index.html': 'GET', '/api/state': 'GET', '/api/events': 'GET', '/api/actions': 'POST' }[url.pathname];
        if (allowed) sendResult(res, 405, `${req.method ?? ''} is not allowed on ${url.pathname}; use ${allowed}`, { allow: allowed });
        else sendResult(res, 404, `no such resource: ${url.pathname} (try /, /api/state, /api/events or POST /api/actions)`);
      }
    }
  });

  const port = await listen(server, settings.host, settings.port).catch((error: unknown) => {
    broadcaster.close();
    unsubscribe?.();
    if (poller) clearInterval(poller);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError(`${settings.host}:${settings.port} is already in use: another sandbox may be running (vmss-mesh sandbox status), or choose another port`, 'port');
    }
    throw error;
  });
  const hostInUrl = settings.host.includes(':') && !settings.host.startsWith('[') ? `[${settings.host}]` : settings.host;
  const url = `http://${hostInUrl}:${port}`;

  let record: DiscoveryRecord | undefined;
  let discoveryFile: string | undefined;
  if (settings.discoveryDir !== null) {
    record = { url, pid: process.pid, startedAt: new Date().toISOString() };
    try {
      discoveryFile = await writeDiscoveryFile(settings.discoveryDir, record);
    } catch (error) {
      // The server works without it; CLI users can still pass --url.
      settings.log(`control server: could not write the discovery file: ${errorMessage(error)}`);
      record = undefined;
    }
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      unsubscribe?.();
      if (poller) clearInterval(poller);
      broadcaster.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      if (record && settings.discoveryDir !== null) await removeDiscoveryFile(settings.discoveryDir, record).catch(() => undefined);
    })();
    return closing;
  };

  return { url, port, ...(discoveryFile ? { discoveryFile } : {}), close };
}
