/**
 * The one door to Consul's HTTP API. It uses the npm `consul` client as transport (its connection
 * handling, TLS agent and request pipeline) through the client's low-level request method, because
 * the registry needs what the high-level methods hide: response headers (X-Consul-Index), 409 txn
 * bodies, repeated `node-meta` filters. Every failure becomes one of our error classes:
 *   network, timeout, 5xx, 429 → TransientError(…, 'consul')   (retry helps)
 *   untrusted TLS certificate   → ConfigError naming CONSUL_CACERT / CONSUL_TLS_SERVER_NAME
 *   403                         → ConfigError naming CONSUL_HTTP_TOKEN (the ACL token is wrong)
 *   413 on /txn                 → ConfigError naming VMSS_MESH_TXN_BATCH_SIZE
 *   anything else unexpected    → InvalidInputError (we sent something Consul will never accept)
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import Consul from 'consul';
import type { z } from 'zod';
import type { ConsulConfig } from '../config';
import { ConfigError, InvalidInputError, TransientError } from '../errors';
import { INVALID, readerOf } from './wire-readers';

export type QueryValue = string | readonly string[] | undefined;

export interface ConsulRequest {
  readonly method: 'GET' | 'PUT' | 'DELETE';
  /** Below `/v1`, already encoded, e.g. `/catalog/service/web`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>>;
  /** JSON body. */
  readonly body?: unknown;
  /** Statuses the caller handles itself besides 2xx (e.g. 404 for KV reads, 409 for txn). */
  readonly accept?: readonly number[];
  readonly timeoutMs?: number;
}

export interface ConsulResponse {
  readonly status: number;
  /** X-Consul-Index, or 0 when the endpoint sends none (writes). */
  readonly index: number;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON, a string for text bodies, undefined when empty. */
  readonly body: unknown;
}

/** The part of papi's client (the `consul` client's base class) the registry drives. */
interface PapiRequestOptions {
  name: string;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  type?: string;
  body?: unknown;
  timeout?: number;
}
interface PapiRequestState {
  res?: IncomingMessage & { body?: unknown };
  err?: Error;
}
type PapiMiddleware = (request: PapiRequestState, next: (err: false, error: undefined, value: PapiRequestState) => void) => void;
interface PapiClient {
  _request(opts: PapiRequestOptions, ...middleware: PapiMiddleware[]): Promise<PapiRequestState>;
}

export interface TransportOptions {
  /** Deadline of a non-blocking request; default 10 s. */
  readonly timeoutMs?: number;
}

export class ConsulTransport {
  readonly client: Consul;
  private readonly token?: string;
  private readonly datacenter?: string;
  private readonly timeoutMs: number;
  private readonly agent: HttpAgent | HttpsAgent;

  constructor(config: ConsulConfig, options: TransportOptions = {}) {
    const secure = config.url.protocol === 'https:';
    if (config.url.pathname !== '/' && config.url.pathname !== '') {
      throw new ConfigError(`a path prefix (${config.url.pathname}) is not supported; give scheme://host:port`, 'CONSUL_HTTP_ADDR');
    }
    if (Boolean(config.certFile) !== Boolean(config.keyFile)) {
      throw new ConfigError('a client certificate needs both CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY', config.certFile ? 'CONSUL_CLIENT_KEY' : 'CONSUL_CLIENT_CERT');
    }
    this.agent = secure
      ? new HttpsAgent({
          keepAlive: true,
          ca: readPem(config.caFile, 'CONSUL_CACERT'),
          cert: readPem(config.certFile, 'CONSUL_CLIENT_CERT'),
          key: readPem(config.keyFile, 'CONSUL_CLIENT_KEY'),
          servername: config.tlsServerName,
          rejectUnauthorized: !config.insecureSkipVerify,
        })
      : new HttpAgent({ keepAlive: true });
    this.token = config.token;
    this.datacenter = config.datacenter;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.client = new Consul({
      host: config.url.hostname,
      port: Number(config.url.port) || (secure ? 443 : 80),
      secure,
      agent: this.agent,
      defaults: { ...(config.token ? { token: config.token } : {}), ...(config.datacenter ? { dc: config.datacenter } : {}) },
    });
  }

  async call(req: ConsulRequest): Promise<ConsulResponse> {
    const what = `Consul ${req.method} /v1${req.path}`;
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) query[k] = typeof v === 'string' ? v : [...v];
    if (this.datacenter) query.dc = this.datacenter;
    const options: PapiRequestOptions = {
      name: what,
      method: req.method,
      path: req.path,
      query,
      headers: this.token ? { 'x-consul-token': this.token } : {},
      timeout: req.timeoutMs ?? this.timeoutMs,
    };
    if (req.body !== undefined) {
      options.type = 'json';
      options.body = req.body;
    }
    const keep: PapiMiddleware = (request, next) => next(false, undefined, { res: request.res, err: request.err });
    let state: PapiRequestState;
    try {
      state = await (this.client as unknown as PapiClient)._request(options, keep);
    } catch (error) {
      throw new TransientError(`${what} failed: ${errorText(error)}`, 'consul', undefined, { cause: error });
    }
    const res = state.res;
    if (!res) {
      const setting = tlsSettingAtFault(state.err);
      if (setting) throw new ConfigError(`${what} failed: Consul's TLS certificate was not accepted: ${errorText(state.err)}`, setting);
      throw new TransientError(`${what} failed: ${errorText(state.err)}`, 'consul', undefined, { cause: state.err });
    }
    const status = res.statusCode ?? 0;
    const body = res.body;
    const response: ConsulResponse = { status, index: indexOf(res.headers), headers: res.headers, body };
    if (status >= 200 && status < 300) return response;
    if (req.accept?.includes(status)) return response;
    const detail = bodyText(body);
    if (status === 429 || status >= 500) {
      throw new TransientError(`${what} answered ${status}${detail ? `: ${detail}` : ''}`, 'consul', retryAfterMs(res.headers));
    }
    if (status === 403) {
      throw new ConfigError(
        `Consul refused the ACL token for ${req.method} /v1${req.path} (403 ${detail || 'Forbidden'}): set a valid token with the needed rights`,
        'CONSUL_HTTP_TOKEN',
      );
    }
    if (status === 413 && req.path === '/txn') {
      throw new ConfigError(`Consul refused a transaction as too large (413 ${detail}): lower the batch size`, 'VMSS_MESH_TXN_BATCH_SIZE');
    }
    throw new InvalidInputError(`${what} was rejected with ${status}${detail ? `: ${detail}` : ''}`);
  }

  close(): void {
    this.client.destroy();
    this.agent.destroy();
  }
}

/**
 * Validates a JSON answer at the boundary: Consul speaking an unexpected shape is not retryable.
 * A schema with a fast reader (wire-readers.ts) is read by it; only what it refuses goes through
 * zod, whose answer (and error message) is the one that counts.
 */
export function parseAnswer<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const reader = readerOf(schema);
  if (reader !== undefined) {
    const fast = reader(body);
    if (fast !== INVALID) return fast;
  }
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidInputError(`unexpected answer from Consul for ${what}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  return result.data;
}

/** `a/b c` → `a/b%20c`: each path segment encoded, slashes kept (KV keys, names). */
export function encodePath(value: string): string {
  return value.split('/').map(encodeURIComponent).join('/');
}

function readPem(file: string | undefined, setting: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${errorText(error)}`, setting);
  }
}

const UNTRUSTED_CERT = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** A certificate we refuse will be refused again: that is configuration, not a transient fault. */
function tlsSettingAtFault(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'CONSUL_TLS_SERVER_NAME';
  return code && UNTRUSTED_CERT.has(code) ? 'CONSUL_CACERT' : undefined;
}

function indexOf(headers: IncomingHttpHeaders): number {
  const raw = headers['x-consul-index'];
  const value = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

function retryAfterMs(headers: IncomingHttpHeaders): number | undefined {
  const raw = headers['retry-after'];
  const seconds = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : JSON.stringify(body);
  return text.trim().slice(0, 300);
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
