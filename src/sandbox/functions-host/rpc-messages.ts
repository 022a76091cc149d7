/**
 * The host's side of the worker protocol, as the Functions host builds its messages for a Node.js
 * worker (which announces RawHttpBodyBytes, RpcHttpBodyOnly and UseNullableValueDictionaryForHttp):
 * - an Event Grid event: the trigger binding's data as JSON typed data, one invocation per event,
 *   its `data` as trigger metadata (the Event Grid extension's binding data);
 * - an HTTP request: RPC http with method, full URL, lower-cased headers, query and route params
 *   as nullable strings (repeated keys joined with ","), the body as bytes when there is one;
 * - a timer tick: the TimerInfo object as JSON in the host's casing
 *   (`{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{...},"IsPastDue":false}`), which the
 *   library turns into camelCase;
 * and the HTTP answer read back from the response's `$return` http data.
 */
import { randomUUID } from 'node:crypto';
import type { RpcHttpCookie, RpcInvocationRequest, RpcInvocationResponse, RpcNullableString, RpcTypedData } from '../functions-worker/core-api';
import { triggerOf } from '../functions-worker/bindings';
import type { RegisteredFunction } from '../functions-worker/functions-core';

interface InvocationOptions {
  readonly invocationId?: string;
  /** The host's retry context (retry policies): attempt number and the policy's maximum. */
  readonly retry?: { readonly retryCount: number; readonly maxRetryCount: number };
}

function invocation(fn: RegisteredFunction, data: RpcTypedData, triggerMetadata: Record<string, RpcTypedData>, options: InvocationOptions): RpcInvocationRequest {
  const invocationId = options.invocationId ?? randomUUID();
  return {
    invocationId,
    functionId: fn.metadata.functionId ?? fn.metadata.name ?? '',
    inputData: [{ name: triggerOf(fn.metadata).name, data }],
    triggerMetadata: { ...triggerMetadata, sys: { json: JSON.stringify({ MethodName: fn.metadata.name, UtcNow: new Date().toISOString(), RandGuid: randomUUID() }) } },
    traceContext: { traceParent: `00-${randomHex(32)}-${randomHex(16)}-00`, traceState: '', attributes: {} },
    ...(options.retry ? { retryContext: { retryCount: options.retry.retryCount, maxRetryCount: options.retry.maxRetryCount } } : {}),
  };
}

/** The event as JSON; its `data` is also binding data (the extension's binding contract), as trigger metadata. */
export function eventGridInvocation(fn: RegisteredFunction, event: unknown, options: InvocationOptions = {}): RpcInvocationRequest {
  const data = typeof event === 'object' && event !== null && !Array.isArray(event) ? (event as { data?: unknown }).data : undefined;
  return invocation(fn, { json: JSON.stringify(event) }, { data: data === undefined || data === null ? {} : { json: JSON.stringify(data) } }, options);
}

export interface HttpRequestMessage {
  readonly method: string;
  /** The full request URL. */
  readonly url: URL;
  /** Raw header lines as node:http gives them ([name, value, name, value, …]). */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly params: Readonly<Record<string, string>>;
}

export function httpInvocation(fn: RegisteredFunction, request: HttpRequestMessage, options: InvocationOptions = {}): RpcInvocationRequest {
  const headers = joined(pairs(request.rawHeaders).map(([name, value]) => [name.toLowerCase(), value] as const));
  const query = joined([...request.url.searchParams]);
  const http = {
    method: request.method,
    url: request.url.href,
    headers: {},
    query: {},
    params: {},
    nullableHeaders: nullable(headers),
    nullableQuery: nullable(query),
    nullableParams: nullable(request.params),
    ...(request.body.length > 0 ? { body: { bytes: new Uint8Array(request.body) } } : {}),
  };
  return invocation(fn, { http }, {}, options);
}

export interface TimerTick {
  readonly isPastDue: boolean;
  /** ISO times of the schedule monitor; absent when the timer keeps no status. */
  readonly status?: { readonly last: string; readonly next: string; readonly lastUpdated: string };
}

export function timerInvocation(fn: RegisteredFunction, tick: TimerTick, options: InvocationOptions = {}): RpcInvocationRequest {
  const info = {
    Schedule: { AdjustForDST: true },
    ScheduleStatus: tick.status ? { Last: tick.status.last, Next: tick.status.next, LastUpdated: tick.status.lastUpdated } : null,
    IsPastDue: tick.isPastDue,
  };
  return invocation(fn, { json: JSON.stringify(info) }, {}, options);
}

/** An invocation's outcome: the exception message when it failed. */
export function failureOf(response: RpcInvocationResponse): string | undefined {
  if (response.result?.status === 'success') return undefined;
  return response.result?.exception?.message ?? `invocation ended with status ${String(response.result?.status)}`;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
}

/** The HTTP answer in a successful response's `$return` (no value: 204, as before). */
export function httpAnswerOf(response: RpcInvocationResponse): HttpAnswer {
  const http = response.returnValue?.http;
  if (!http) return { status: 204, headers: [], body: Buffer.alloc(0) };
  const status = Number(http.statusCode ?? 200);
  const headers: Array<readonly [string, string]> = Object.entries(http.headers ?? {}).map(([k, v]) => [k, String(v)] as const);
  for (const cookie of http.cookies ?? []) headers.push(['set-cookie', setCookie(cookie)]);
  return { status: Number.isInteger(status) && status >= 100 && status <= 999 ? status : 500, headers, body: bytesOf(http.body) };
}

function bytesOf(data: RpcTypedData | null | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  if (data.bytes) return Buffer.from(data.bytes);
  if (data.stream) return Buffer.from(data.stream);
  if (typeof data.string === 'string') return Buffer.from(data.string, 'utf8');
  if (typeof data.json === 'string') return Buffer.from(data.json, 'utf8');
  if (typeof data.int === 'number' || typeof data.double === 'number') return Buffer.from(String(data.int ?? data.double));
  return Buffer.alloc(0);
}

function setCookie(cookie: RpcHttpCookie): string {
  const parts = [`${cookie.name ?? ''}=${cookie.value ?? ''}`];
  const value = (field: string): unknown => (cookie[field] as { value?: unknown } | null | undefined)?.value;
  if (typeof value('domain') === 'string') parts.push(`Domain=${String(value('domain'))}`);
  if (typeof value('path') === 'string') parts.push(`Path=${String(value('path'))}`);
  if (typeof value('maxAge') === 'number') parts.push(`Max-Age=${String(value('maxAge'))}`);
  if (value('secure') === true) parts.push('Secure');
  if (value('httpOnly') === true) parts.push('HttpOnly');
  const sameSite = cookie.sameSite;
  if (sameSite === 'lax' || sameSite === 'strict') parts.push(`SameSite=${sameSite === 'lax' ? 'Lax' : 'Strict'}`);
  if (sameSite === 'explicitNone') parts.push('SameSite=None');
  return parts.join('; ');
}

function pairs(raw: readonly string[]): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

/** Repeated keys become one value joined with "," (ASP.NET's StringValues.ToString()). */
function joined(entries: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const out = new Map<string, string[]>();
  for (const [key, value] of entries) out.set(key, [...(out.get(key) ?? []), value]);
  return Object.fromEntries([...out].map(([key, values]) => [key, values.join(',')]));
}

function nullable(map: Readonly<Record<string, string>>): Record<string, RpcNullableString> {
  return Object.fromEntries(Object.entries(map).map(([key, value]) => [key, { value }]));
}

function randomHex(length: number): string {
  return randomUUID().replace(/-/g, '').repeat(2).slice(0, length);
}
