/**
 * The tags that put a scale set into the mesh (documented in docs/mesh-tags.md):
 *
 *   vmss-mesh-service          = api            (required: Consul service name, DNS-safe)
 *   vmss-mesh-port             = 8080           (required: 1–65535)
 *   vmss-mesh-protocol         = http|grpc|tcp  (optional, default http)
 *   vmss-mesh-health-path      = /healthz       (optional, http only)
 *   vmss-mesh-weight           = 0–1000         (optional: this scale set's share of the service)
 *   vmss-mesh-retry-on         = unavailable,5xx (optional: retry conditions, see traffic.ts)
 *   vmss-mesh-retries          = 1–4            (optional, needs retry-on; default 1)
 *   vmss-mesh-per-try-timeout  = 250ms          (optional, needs retry-on; Envoy only)
 *   vmss-mesh-timeout          = 2s             (optional: overall deadline of a call)
 *
 * More services on the same instances repeat the names with a suffix `-2` … `-16`
 * (`vmss-mesh-service-2`, `vmss-mesh-weight-2`, …): one value per tag keeps every value short
 * (Azure caps tag values at 256 characters) and editable in the portal. Weight and policy are per
 * service, like the port: a rollout may shift one service of a scale set and not another.
 *
 * Tag names are matched case-insensitively, as Azure does. Any tag starting with `vmss-mesh-`
 * declares intent: a scale set that has one but no valid set is reported, never silently ignored,
 * and an unknown `vmss-mesh-*` name is an error (a typo must not go unnoticed).
 */
import type { MeshProtocol, MeshServiceSpec } from '../model';
import { formatDurationMs, GRPC_RETRY_CONDITIONS, HTTP_RETRY_CONDITIONS, isRetryCondition, MAX_RETRIES, MAX_TIMEOUT_MS, MAX_WEIGHT, parseDurationMs, type RetryCondition, type RoutePolicy } from '../traffic';
import { SERVICE_NAME, SERVICE_NAME_RULE } from '../service-name';

export const MESH_TAG_PREFIX = 'vmss-mesh-';

export const MESH_TAGS = {
  service: 'vmss-mesh-service',
  port: 'vmss-mesh-port',
  protocol: 'vmss-mesh-protocol',
  healthPath: 'vmss-mesh-health-path',
  weight: 'vmss-mesh-weight',
  retryOn: 'vmss-mesh-retry-on',
  retries: 'vmss-mesh-retries',
  perTryTimeout: 'vmss-mesh-per-try-timeout',
  timeout: 'vmss-mesh-timeout',
} as const;

/** Services one scale set may declare (unsuffixed + `-2` … `-16`). */
export const MAX_MESH_SERVICES = 16;

export const MESH_PROTOCOLS: readonly MeshProtocol[] = ['http', 'grpc', 'tcp'];
export const DEFAULT_MESH_PROTOCOL: MeshProtocol = 'http';

export type MeshTagsResult = { readonly ok: true; readonly services: readonly MeshServiceSpec[] } | { readonly ok: false; readonly errors: readonly string[] };

type Field = keyof typeof MESH_TAGS;
const FIELD_BY_NAME = new Map<string, Field>(Object.entries(MESH_TAGS).map(([field, name]) => [name, field as Field]));
const TAG_NAME = /^(vmss-mesh-(?:service|port|protocol|health-path|weight|retry-on|retries|per-try-timeout|timeout))(?:-([1-9][0-9]?))?$/;

const PORT = /^[1-9][0-9]{0,4}$/;
const HEALTH_PATH = /^\/[\x21-\x7e]*$/;
const MAX_HEALTH_PATH = 256;
const WEIGHT = /^[0-9]{1,4}$/;
const RETRIES = /^[0-9]{1,2}$/;

/** True when any tag name starts with `vmss-mesh-` (case-insensitive): the scale set means to be in the mesh. */
export function hasMeshTags(tags: Readonly<Record<string, string>> | undefined): boolean {
  return Object.keys(tags ?? {}).some((name) => name.toLowerCase().startsWith(MESH_TAG_PREFIX));
}

/** The tag name of `field` for service number `index` (1 = unsuffixed). */
export function meshTagName(field: Field, index: number): string {
  return index === 1 ? MESH_TAGS[field] : `${MESH_TAGS[field]}-${index}`;
}

interface RawService {
  readonly index: number;
  readonly values: Partial<Record<Field, { readonly tag: string; readonly value: string }>>;
}

function validateName(tag: string, value: string, errors: string[]): string | undefined {
  if (value === '') errors.push(`${tag}: the service name is empty`);
  else if (value === 'consul') errors.push(`${tag}: "consul" is reserved by Consul itself`);
  else if (!SERVICE_NAME.test(value)) {
    errors.push(`${tag}: ${JSON.stringify(value)} is not a valid service name (${SERVICE_NAME_RULE})`);
  } else return value;
  return undefined;
}

function validatePort(tag: string, value: string, errors: string[]): number | undefined {
  const port = PORT.test(value) ? Number(value) : NaN;
  if (port >= 1 && port <= 65535) return port;
  errors.push(`${tag}: ${JSON.stringify(value)} is not a port (a whole number from 1 to 65535)`);
  return undefined;
}

function validateProtocol(tag: string, value: string, errors: string[]): MeshProtocol | undefined {
  const protocol = MESH_PROTOCOLS.find((p) => p === value.toLowerCase());
  if (protocol) return protocol;
  errors.push(`${tag}: ${JSON.stringify(value)} is not a protocol (one of ${MESH_PROTOCOLS.join(', ')})`);
  return undefined;
}

function validateHealthPath(tag: string, value: string, protocol: MeshProtocol | undefined, errors: string[]): string | undefined {
  if (value.length > MAX_HEALTH_PATH || !HEALTH_PATH.test(value)) {
    errors.push(`${tag}: ${JSON.stringify(value)} is not an HTTP path (must start with "/", no spaces, at most ${MAX_HEALTH_PATH} characters)`);
    return undefined;
  }
  if (protocol !== undefined && protocol !== 'http') {
    errors.push(`${tag}: a health path applies to http services only, this one is ${protocol}`);
    return undefined;
  }
  return value;
}

function validateWeight(tag: string, value: string, errors: string[]): number | undefined {
  const weight = WEIGHT.test(value) ? Number(value) : NaN;
  if (weight >= 0 && weight <= MAX_WEIGHT) return weight;
  errors.push(`${tag}: ${JSON.stringify(value)} is not a weight (a whole number from 0 to ${MAX_WEIGHT}; 0 drains the scale set)`);
  return undefined;
}

const RETRY_CONDITION_LIST = `gRPC: ${GRPC_RETRY_CONDITIONS.join(', ')}; HTTP: ${HTTP_RETRY_CONDITIONS.join(', ')}`;

function validateRetryOn(tag: string, value: string, errors: string[]): RetryCondition[] | undefined {
  const items = value.split(',').map((item) => item.trim().toLowerCase());
  if (items.every((item) => item === '')) {
    errors.push(`${tag}: no retry condition given (a comma-separated list of ${RETRY_CONDITION_LIST})`);
    return undefined;
  }
  const unknown = items.filter((item) => !isRetryCondition(item));
  if (unknown.length > 0) {
    errors.push(`${tag}: ${unknown.map((u) => JSON.stringify(u)).join(', ')} ${unknown.length === 1 ? 'is not a retry condition' : 'are not retry conditions'} (${RETRY_CONDITION_LIST})`);
    return undefined;
  }
  return [...new Set(items as RetryCondition[])];
}

function validateRetries(tag: string, value: string, errors: string[]): number | undefined {
  const retries = RETRIES.test(value) ? Number(value) : NaN;
  if (retries >= 1 && retries <= MAX_RETRIES) return retries;
  errors.push(`${tag}: ${JSON.stringify(value)} is not a number of retries (a whole number from 1 to ${MAX_RETRIES}: gRPC clients make at most ${MAX_RETRIES + 1} attempts)`);
  return undefined;
}

function validateDuration(tag: string, value: string, errors: string[]): number | undefined {
  const ms = parseDurationMs(value);
  if (ms !== undefined && ms >= 1 && ms <= MAX_TIMEOUT_MS) return ms;
  errors.push(`${tag}: ${JSON.stringify(value)} is not a duration (a whole number with ms, s or m, e.g. 250ms, 2s; from 1ms to ${formatDurationMs(MAX_TIMEOUT_MS)})`);
  return undefined;
}

type TagValue = { readonly tag: string; readonly value: string };

/** The policy tags of one service; `undefined` when none is set (errors are pushed to `errors`). */
function parsePolicy(raw: RawService, errors: string[]): RoutePolicy | undefined {
  const { retryOn, retries, perTryTimeout, timeout } = raw.values;
  const conditions = retryOn ? validateRetryOn(retryOn.tag, retryOn.value, errors) : undefined;
  const numRetries = retries ? validateRetries(retries.tag, retries.value, errors) : undefined;
  const perTryTimeoutMs = perTryTimeout ? validateDuration(perTryTimeout.tag, perTryTimeout.value, errors) : undefined;
  const timeoutMs = timeout ? validateDuration(timeout.tag, timeout.value, errors) : undefined;
  for (const needsRetryOn of [retries, perTryTimeout].filter((v): v is TagValue => v !== undefined)) {
    if (!retryOn) errors.push(`${needsRetryOn.tag} is set but ${meshTagName('retryOn', raw.index)} is missing (say which failures to retry)`);
  }
  if (perTryTimeoutMs !== undefined && timeoutMs !== undefined && perTryTimeoutMs > timeoutMs) {
    errors.push(`${(perTryTimeout as TagValue).tag}: ${formatDurationMs(perTryTimeoutMs)} is longer than ${(timeout as TagValue).tag} ${formatDurationMs(timeoutMs)} (a try cannot outlast the whole call)`);
  }
  if (!conditions && timeoutMs === undefined) return undefined;
  return {
    retryOn: conditions ?? [],
    ...(conditions && numRetries !== undefined ? { numRetries } : {}),
    ...(conditions && perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };
}

function parseService(raw: RawService, errors: string[]): MeshServiceSpec | undefined {
  const { service, port, protocol, healthPath, weight } = raw.values;
  if (!service) {
    const present = Object.values(raw.values).map((v) => v.tag);
    errors.push(`${present.join(', ')} ${present.length === 1 ? 'is' : 'are'} set but ${meshTagName('service', raw.index)} is missing`);
    return undefined;
  }
  const before = errors.length;
  const name = validateName(service.tag, service.value, errors);
  const portNumber = port ? validatePort(port.tag, port.value, errors) : undefined;
  if (!port) errors.push(`${service.tag} is set but ${meshTagName('port', raw.index)} is missing`);
  const proto = protocol ? validateProtocol(protocol.tag, protocol.value, errors) : DEFAULT_MESH_PROTOCOL;
  const path = healthPath ? validateHealthPath(healthPath.tag, healthPath.value, proto, errors) : undefined;
  const share = weight ? validateWeight(weight.tag, weight.value, errors) : undefined;
  const policy = parsePolicy(raw, errors);
  if (errors.length > before || name === undefined || portNumber === undefined || proto === undefined) return undefined;
  return {
    name,
    port: portNumber,
    protocol: proto,
    ...(path !== undefined ? { healthPath: path } : {}),
    ...(share !== undefined ? { weight: share } : {}),
    ...(policy !== undefined ? { policy } : {}),
  };
}

/** Reads the mesh services a scale set's tags declare. No mesh tag at all = `{ok: true, services: []}`. */
export function parseMeshTags(tags: Readonly<Record<string, string>> | undefined): MeshTagsResult {
  const errors: string[] = [];
  const byIndex = new Map<number, { index: number; values: { -readonly [F in Field]?: { tag: string; value: string } } }>();
  for (const [tag, rawValue] of Object.entries(tags ?? {})) {
    const lower = tag.toLowerCase();
    if (!lower.startsWith(MESH_TAG_PREFIX)) continue;
    const match = TAG_NAME.exec(lower);
    const field = match?.[1] === undefined ? undefined : FIELD_BY_NAME.get(match[1]);
    const index = match?.[2] === undefined ? 1 : Number(match[2]);
    if (!match || field === undefined || (match[2] !== undefined && (index < 2 || index > MAX_MESH_SERVICES))) {
      errors.push(`${tag}: unknown mesh tag (known: ${Object.values(MESH_TAGS).join(', ')}, each optionally suffixed -2 … -${MAX_MESH_SERVICES})`);
      continue;
    }
    const entry = byIndex.get(index) ?? { index, values: {} };
    const earlier = entry.values[field];
    if (earlier) {
      errors.push(`${earlier.tag} and ${tag} name the same tag (tag names are case-insensitive)`);
      continue;
    }
    // ARM's tags are strings; anything else is a malformed answer, reported rather than coerced
    // (String() of an object can throw, and "[object Object]" is no service name).
    const value: unknown = rawValue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      errors.push(`${tag}: value must be a string, got ${value === null ? 'null' : typeof value}`);
      continue;
    }
    entry.values[field] = { tag, value: String(value).trim() };
    byIndex.set(index, entry);
  }
  const services: MeshServiceSpec[] = [];
  for (const raw of [...byIndex.values()].sort((a, b) => a.index - b.index)) {
    const spec = parseService(raw, errors);
    if (spec) services.push(spec);
  }
  checkConflicts(services, errors);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, services };
}

function checkConflicts(services: readonly MeshServiceSpec[], errors: string[]): void {
  const seenNames = new Set<string>();
  const protocolByPort = new Map<number, MeshServiceSpec>();
  for (const spec of services) {
    if (seenNames.has(spec.name)) errors.push(`service ${JSON.stringify(spec.name)} is declared more than once`);
    seenNames.add(spec.name);
    const other = protocolByPort.get(spec.port);
    if (other && other.protocol !== spec.protocol) {
      errors.push(`port ${spec.port} is declared as ${other.protocol} (${other.name}) and as ${spec.protocol} (${spec.name})`);
    }
    if (!other) protocolByPort.set(spec.port, spec);
  }
}

/** The tags that declare `services` (the inverse of `parseMeshTags`; the sandbox and tests use it). */
export function meshTagsFor(services: readonly MeshServiceSpec[]): Record<string, string> {
  if (services.length > MAX_MESH_SERVICES) throw new RangeError(`at most ${MAX_MESH_SERVICES} mesh services per scale set, got ${services.length}`);
  const tags: Record<string, string> = {};
  services.forEach((spec, i) => {
    tags[meshTagName('service', i + 1)] = spec.name;
    tags[meshTagName('port', i + 1)] = String(spec.port);
    tags[meshTagName('protocol', i + 1)] = spec.protocol;
    if (spec.healthPath !== undefined) tags[meshTagName('healthPath', i + 1)] = spec.healthPath;
    if (spec.weight !== undefined) tags[meshTagName('weight', i + 1)] = String(spec.weight);
    const policy = spec.policy;
    if (policy && policy.retryOn.length > 0) {
      tags[meshTagName('retryOn', i + 1)] = policy.retryOn.join(',');
      if (policy.numRetries !== undefined) tags[meshTagName('retries', i + 1)] = String(policy.numRetries);
      if (policy.perTryTimeoutMs !== undefined) tags[meshTagName('perTryTimeout', i + 1)] = formatDurationMs(policy.perTryTimeoutMs);
    }
    if (policy?.timeoutMs !== undefined) tags[meshTagName('timeout', i + 1)] = formatDurationMs(policy.timeoutMs);
  });
  return tags;
}
