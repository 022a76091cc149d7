/**
 * What the Node.js worker checks on an InvocationResponse before the host gets it, so a response
 * the real worker could not send fails here too:
 * 1. the enum conversion into the protobuf types (the worker's fromCoreInvocationResponse): the
 *    result's status, its logs' level and category, and every HTTP cookie's sameSite (in the return
 *    value, output bindings and nested bodies) must be known values, else a RangeError
 *    `Unexpected value "X" for type "CoreRpc…"` — in the worker that fails the invocation;
 * 2. the shape check of the outgoing message (the worker's `rpc.StreamingMessage.verify`, as
 *    protobufjs verifies): field types (strings, bools, numbers, bytes, maps of strings), at most
 *    one value in a oneof (TypedData's data). In the worker a failed verify throws out of the
 *    stream write: the response is never sent and the worker process exits (uncaught error), so
 *    the host fails the invocation. Here it becomes a failure result with that message
 *    (`Worker malformed message: invocationResponse.<path>: <what> expected`), logged as a system error.
 */
import type { RpcInvocationResponse } from './core-api';
import { WorkerRangeError } from './functions-core';

const STATUSES = ['cancelled', 'failure', 'success'];
const LOG_LEVELS = ['critical', 'debug', 'error', 'information', 'none', 'trace', 'warning'];
const LOG_CATEGORIES = ['customMetric', 'system', 'user'];
const SAME_SITES = ['explicitNone', 'lax', 'none', 'strict'];

/** The worker's conversion of the programming model's response: throws its RangeError for an unknown enum value. */
export function checkResponseEnums(response: RpcInvocationResponse): void {
  checkEnums(response);
}

/** The worker's verify of the message it would send: `Worker malformed message: …`, or undefined when it verifies. */
export function malformedResponse(response: RpcInvocationResponse): string | undefined {
  const problem = shapeProblem(response);
  return problem === undefined ? undefined : `Worker malformed message: invocationResponse.${problem}`;
}

type Fields = Record<string, unknown>;
const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null;
const isSet = (value: unknown) => value !== undefined && value !== null;

function checkEnum(value: unknown, allowed: readonly string[], typeName: string): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string' || !allowed.includes(value)) throw new WorkerRangeError(`Unexpected value "${String(value)}" for type "${typeName}"`);
}

/** fromCoreInvocationResponse's conversions: the enum values it maps, or throws on. */
function checkEnums(response: RpcInvocationResponse): void {
  const result: unknown = response.result;
  if (isObject(result)) {
    checkEnum(result.status, STATUSES, 'CoreRpcStatus');
    if (Array.isArray(result.logs)) {
      for (const log of result.logs as unknown[]) {
        if (!isObject(log)) continue;
        checkEnum(log.level, LOG_LEVELS, 'CoreRpcLogLevel');
        checkEnum(log.logCategory, LOG_CATEGORIES, 'CoreRpcLogCategory');
      }
    }
  }
  const outputs: unknown = response.outputData;
  if (Array.isArray(outputs)) for (const binding of outputs as unknown[]) if (isObject(binding)) checkTypedDataEnums(binding.data);
  checkTypedDataEnums(response.returnValue);
}

function checkTypedDataEnums(data: unknown): void {
  if (!isObject(data) || !isObject(data.http)) return;
  const http = data.http;
  checkTypedDataEnums(http.body);
  checkTypedDataEnums(http.rawBody);
  if (Array.isArray(http.cookies)) for (const cookie of http.cookies as unknown[]) if (isObject(cookie)) checkEnum(cookie.sameSite, SAME_SITES, 'CoreRpcHttpCookieSameSite');
}

// The shape check, field by field: a problem is "path: what was expected", as protobufjs words it.

/** A field's check: undefined when it verifies, else its problem (`what` at `path` below the field). */
type Check = (value: unknown) => { readonly path: string; readonly what: string } | undefined;

const leaf = (ok: (v: unknown) => boolean, what: string): Check => (v) => (ok(v) ? undefined : { path: '', what });
const isLong = (v: unknown) => isObject(v) && Number.isInteger(v.low) && Number.isInteger(v.high);
const string = leaf((v) => typeof v === 'string', 'string expected');
const bool = leaf((v) => typeof v === 'boolean', 'boolean expected');
const number = leaf((v) => typeof v === 'number', 'number expected');
const integer = leaf((v) => Number.isInteger(v) || isLong(v), 'integer|Long expected');
const int32 = leaf((v) => Number.isInteger(v), 'integer expected');
const bytes = leaf((v) => (isObject(v) && typeof v.length === 'number') || typeof v === 'string', 'buffer expected');
/** An enum field: checkEnums already refused unknown values, and the worker sends the converted numbers. */
const convertedEnum: Check = () => undefined;

const below = (key: string, problem: { path: string; what: string }) => ({ path: !problem.path ? key : problem.path.startsWith('[') ? `${key}${problem.path}` : `${key}.${problem.path}`, what: problem.what });

const repeated = (item: Check): Check => (v) => {
  if (!Array.isArray(v)) return { path: '', what: 'array expected' };
  for (const [index, entry] of (v as unknown[]).entries()) {
    const problem = item(entry);
    if (problem) return below(`[${index}]`, problem);
  }
  return undefined;
};

const map = (value: Check): Check => (v) => {
  if (!isObject(v) || Array.isArray(v)) return { path: '', what: 'object expected' };
  for (const [key, entry] of Object.entries(v)) {
    const problem = value(entry);
    if (problem) return below(key, problem);
  }
  return undefined;
};

function message(fields: Record<string, Check>, oneofs: Record<string, readonly string[]> = {}): Check {
  return (v) => {
    if (!isObject(v) || Array.isArray(v)) return { path: '', what: 'object expected' };
    for (const [oneof, members] of Object.entries(oneofs)) {
      if (members.filter((m) => isSet(v[m])).length > 1) return { path: oneof, what: 'multiple values' };
    }
    for (const [name, check] of Object.entries(fields)) {
      if (!isSet(v[name])) continue;
      const problem = check(v[name]);
      if (problem) return below(name, problem);
    }
    return undefined;
  };
}

const nullable = (value: Check): Check => message({ value });
const timestamp = message({ seconds: integer, nanos: int32 });
const rpcException = message({ source: string, stackTrace: string, message: string, isUserException: bool, type: string });

// TypedData and RpcHttp refer to each other.
const typedData: Check = (v) => typedDataMessage(v);
const rpcHttpCookie = message({
  name: string,
  value: string,
  domain: nullable(string),
  path: nullable(string),
  expires: nullable(timestamp),
  secure: nullable(bool),
  httpOnly: nullable(bool),
  sameSite: convertedEnum,
  maxAge: nullable(number),
});
const rpcHttp = message({
  method: string,
  url: string,
  headers: map(string),
  body: typedData,
  params: map(string),
  statusCode: string,
  query: map(string),
  enableContentNegotiation: bool,
  rawBody: typedData,
  cookies: repeated(rpcHttpCookie),
  nullableHeaders: map(nullable(string)),
  nullableParams: map(nullable(string)),
  nullableQuery: map(nullable(string)),
});
const typedDataMessage: Check = message(
  {
    string,
    json: string,
    bytes,
    stream: bytes,
    http: rpcHttp,
    int: integer,
    double: number,
    collectionBytes: message({ bytes: repeated(bytes) }),
    collectionString: message({ string: repeated(string) }),
    collectionDouble: message({ double: repeated(number) }),
    collectionSint64: message({ sint64: repeated(integer) }),
  },
  { data: ['string', 'json', 'bytes', 'stream', 'http', 'int', 'double', 'collectionBytes', 'collectionString', 'collectionDouble', 'collectionSint64', 'modelBindingData', 'collectionModelBindingData'] },
);
const rpcLog = message({ invocationId: string, category: string, level: convertedEnum, message: string, eventId: string, exception: rpcException, properties: string, logCategory: convertedEnum });
const statusResult = message({ status: convertedEnum, result: string, exception: rpcException, logs: repeated(rpcLog) });
const parameterBinding = message({ name: string, data: typedData });
const invocationResponse = message({ invocationId: string, outputData: repeated(parameterBinding), returnValue: typedData, result: statusResult });

/** "returnValue.http.statusCode: string expected", or undefined when the response verifies. */
function shapeProblem(response: RpcInvocationResponse): string | undefined {
  const problem = invocationResponse(response);
  return problem ? `${problem.path}: ${problem.what}` : undefined;
}
