/**
 * The relay's side of the push API (proto/vmss_mesh/relay/v1/push.proto). Each call:
 *  1. needs `authorization: Bearer <token>` (UNAUTHENTICATED otherwise; compared in constant time);
 *  2. is validated whole before anything changes (INVALID_ARGUMENT naming the first bad field,
 *     e.g. `services[0].endpoints[2].address: "10.0.0.x" is not an IP literal`);
 *  3. is refused whole (FAILED_PRECONDITION) when a service's consul_index is more than the
 *     store's bound ahead of the latest index the relay saw from Consul — after one read of that
 *     service from Consul, which is what an honest push after a long quiet spell needs (UNAVAILABLE
 *     when that read fails): a push must not claim a future Consul has not reached;
 *     (INTERNAL, reason `internal`, if the relay itself fails while checking);
 *  4. offers each service's set to the MeshStateStore as a push: older than served → IGNORED_STALE,
 *     unknown service → CREATED, else ACCEPTED. A pushed set is served until Consul confirms or
 *     overrules it, or it expires (push-overlays.ts).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { EndpointHealth, MeshEndpoint, PushOutcome, ServiceEndpointSet } from '../../shared/endpoints';
import { InvalidInputError } from '../../shared/errors';
import { MESH_PROTOCOLS } from '../../shared/azure/mesh-tags';
import { isRetryCondition, MAX_RETRIES, MAX_TIMEOUT_MS, MAX_WEIGHT as MAX_SCALE_SET_WEIGHT, type RetryCondition, type RoutePolicy } from '../../shared/traffic';
import { SERVICE_NAME, SERVICE_NAME_RULE } from '../../shared/service-name';
import type { MeshStateStore, OfferResult } from '../inputs/mesh-state-store';
import {
  endpointPushService,
  PUSH_METHOD,
  type WireEndpointHealth,
  type WirePushOutcome,
  type WirePushRequest,
  type WirePushResponse,
  type WireRoutePolicy,
  type WireServiceEndpoints,
} from './push-proto';

/** Why a push call was refused before it reached the state (`internal`: a failure of the relay itself, a bug). */
export type PushRejection = 'unauthenticated' | 'invalid-argument' | 'index-ahead' | 'index-unverified' | 'internal';

export interface PushServerHooks {
  /** After a valid, authenticated call: one entry per service. */
  onPush?(source: string, results: ReadonlyArray<{ readonly service: string } & OfferResult>): void;
  /** A call refused before it reached the store. */
  onRejected?(reason: PushRejection, detail: string, peer: string): void;
}

export interface PushServiceOptions {
  readonly store: MeshStateStore;
  readonly token: string;
  readonly hooks?: PushServerHooks;
}

export interface PushService {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

const HEALTH_FROM_WIRE: Partial<Record<WireEndpointHealth, EndpointHealth>> = {
  ENDPOINT_HEALTH_PASSING: 'passing',
  ENDPOINT_HEALTH_WARNING: 'warning',
  ENDPOINT_HEALTH_CRITICAL: 'critical',
  ENDPOINT_HEALTH_DRAINING: 'draining',
};

const OUTCOME_TO_WIRE: Record<PushOutcome, WirePushOutcome> = {
  accepted: 'OUTCOME_ACCEPTED',
  created: 'OUTCOME_CREATED',
  'ignored-stale': 'OUTCOME_IGNORED_STALE',
};

/** Protocol of a set pushed without one (same default as the registry's endpoint sets). */
const DEFAULT_PROTOCOL = 'http';
const MAX_ZONE_LENGTH = 64;
const MAX_INSTANCE_NAME_LENGTH = 256;
const MAX_SCALE_SET_LENGTH = 512;
/** Envoy sums endpoint weights of a locality in a uint32: a bound per endpoint keeps any sum far from overflow. */
const MAX_WEIGHT = 1_000_000;

/** The EndpointPush service, ready for `server.addService(s.definition, s.implementation)`. */
export function createPushService(options: PushServiceOptions): PushService {
  if (options.token === '') throw new TypeError('createPushService needs a non-empty token');
  const expected = digest(`Bearer ${options.token}`);
  const hooks = options.hooks ?? {};
  const pushEndpoints = (call: grpc.ServerUnaryCall<WirePushRequest, WirePushResponse>, callback: grpc.sendUnaryData<WirePushResponse>): void => {
    const presented = call.metadata.get('authorization')[0];
    if (typeof presented !== 'string' || !timingSafeEqual(digest(presented), expected)) {
      const detail = presented === undefined ? 'push token missing: send "authorization: Bearer <token>" metadata' : 'push token wrong';
      safe(() => hooks.onRejected?.('unauthenticated', detail, call.getPeer()));
      callback({ code: grpc.status.UNAUTHENTICATED, details: detail });
      return;
    }
    let sets: ServiceEndpointSet[];
    try {
      sets = validatePushRequest(call.request);
    } catch (error) {
      const detail = error instanceof InvalidInputError ? error.message : String(error);
      safe(() => hooks.onRejected?.('invalid-argument', detail, call.getPeer()));
      callback({ code: grpc.status.INVALID_ARGUMENT, details: detail });
      return;
    }
    const accept = (): void => {
      const results = sets.map((set) => ({ service: set.service, ...options.store.offerPush(set) }));
      safe(() => hooks.onPush?.(call.request.source, results));
      callback(null, { results: results.map((r) => ({ service: r.service, outcome: OUTCOME_TO_WIRE[r.outcome], currentIndex: r.currentIndex })) });
    };
    const refuse = (refusal: IndexRefusal): void => {
      safe(() => hooks.onRejected?.(refusal.reason, refusal.detail, call.getPeer()));
      callback({ code: refusal.code, details: refusal.detail });
    };
    const first = firstBeyondBound(sets, options.store);
    if (first === undefined) return accept();
    checkAgainstConsul(sets, first, options.store)
      .then((refusal) => (refusal ? refuse(refusal) : accept()))
      .catch((error: unknown) => refuse({ reason: 'internal', code: grpc.status.INTERNAL, detail: `checking the push against Consul failed: ${String(error)}` }));
  };
  return { definition: endpointPushService().service, implementation: { [PUSH_METHOD]: pushEndpoints } };
}

interface IndexRefusal {
  readonly reason: Extract<PushRejection, 'index-ahead' | 'index-unverified' | 'internal'>;
  readonly code: grpc.status;
  readonly detail: string;
}

/** Position of the first set whose index is beyond the store's bound (none before Consul's first answer). */
function firstBeyondBound(sets: readonly ServiceEndpointSet[], store: MeshStateStore): number | undefined {
  const bound = store.pushIndexBound();
  if (!bound) return undefined;
  const i = sets.findIndex((set) => set.consulIndex > bound.limit);
  return i < 0 ? undefined : i;
}

/**
 * A push beyond the bound may still be honest (Consul's index moves with writes the watch never
 * sees, such as KV): one read of the first such service (`first`) from Consul updates the relay's
 * view of Consul's index; whatever is still beyond the bound after it is refused.
 */
async function checkAgainstConsul(sets: readonly ServiceEndpointSet[], first: number, store: MeshStateStore): Promise<IndexRefusal | undefined> {
  const suspect = sets[first] as ServiceEndpointSet;
  const read = store.readFromConsul(suspect.service);
  if (read) {
    try {
      await read;
    } catch (error) {
      const bound = store.pushIndexBound();
      return {
        reason: 'index-unverified',
        code: grpc.status.UNAVAILABLE,
        detail: `services[${first}].consul_index: ${suspect.consulIndex} is more than ${bound?.maxIndexAhead} ahead of Consul's index ${bound?.latest} (the latest the relay has seen), and Consul could not be read to check it: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }
  const still = firstBeyondBound(sets, store);
  if (still === undefined) return undefined;
  const bound = store.pushIndexBound();
  return {
    reason: 'index-ahead',
    code: grpc.status.FAILED_PRECONDITION,
    detail: `services[${still}].consul_index: ${(sets[still] as ServiceEndpointSet).consulIndex} is more than ${bound?.maxIndexAhead} ahead of Consul's index ${bound?.latest} (the latest the relay has seen from Consul); a push cannot claim a state Consul has not reached, so nothing of this push was taken (relay setting VMSS_MESH_RELAY_PUSH_MAX_INDEX_AHEAD)`,
  };
}

/** The request as endpoint sets, or InvalidInputError with the path of the first bad field. */
export function validatePushRequest(request: WirePushRequest): ServiceEndpointSet[] {
  const seen = new Set<string>();
  return request.services.map((wire, i) => {
    const set = validateService(wire, `services[${i}]`);
    if (seen.has(set.service)) throw new InvalidInputError(`service ${JSON.stringify(set.service)} appears twice in one push`, `services[${i}].service`);
    seen.add(set.service);
    return set;
  });
}

function validateService(wire: WireServiceEndpoints, path: string): ServiceEndpointSet {
  if (!SERVICE_NAME.test(wire.service)) {
    throw new InvalidInputError(`${JSON.stringify(wire.service)} is not a service name (${SERVICE_NAME_RULE})`, `${path}.service`);
  }
  if (!Number.isSafeInteger(wire.consulIndex) || wire.consulIndex < 1) {
    throw new InvalidInputError(`must be a Consul index ≥ 1, got ${wire.consulIndex}`, `${path}.consul_index`);
  }
  const protocol = wire.protocol === '' ? DEFAULT_PROTOCOL : wire.protocol;
  if (!(MESH_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new InvalidInputError(`${JSON.stringify(wire.protocol)} is not one of ${MESH_PROTOCOLS.join(', ')}`, `${path}.protocol`);
  }
  if (wire.healthPath !== '' && !/^\/[\x21-\x7e]{0,255}$/.test(wire.healthPath)) {
    throw new InvalidInputError(`${JSON.stringify(wire.healthPath)} is not an HTTP path (starts with "/", printable ASCII, at most 256 characters)`, `${path}.health_path`);
  }
  const seen = new Set<string>();
  const endpoints = wire.endpoints.map((e, j) => {
    const endpoint = validateEndpoint(e, `${path}.endpoints[${j}]`);
    const key = `${endpoint.address} ${endpoint.port}`;
    if (seen.has(key)) throw new InvalidInputError(`${endpoint.address} port ${endpoint.port} appears twice`, `${path}.endpoints[${j}]`);
    seen.add(key);
    return endpoint;
  });
  const policy = wire.policy ? validatePolicy(wire.policy, `${path}.policy`) : undefined;
  return {
    service: wire.service,
    consulIndex: wire.consulIndex,
    protocol,
    ...(wire.healthPath ? { healthPath: wire.healthPath } : {}),
    endpoints,
    ...(policy && (policy.retryOn.length > 0 || policy.timeoutMs !== undefined) ? { policy } : {}),
  };
}

function validatePolicy(wire: WireRoutePolicy, path: string): RoutePolicy {
  const retryOn: RetryCondition[] = [];
  wire.retryOn.forEach((condition, i) => {
    if (!isRetryCondition(condition)) throw new InvalidInputError(`${JSON.stringify(condition)} is not a retry condition`, `${path}.retry_on[${i}]`);
    if (!retryOn.includes(condition)) retryOn.push(condition);
  });
  const bounded = (value: number, max: number, field: string): number | undefined => {
    if (!Number.isInteger(value) || value < 0 || value > max) throw new InvalidInputError(`must be a whole number from 0 (= none) to ${max}, got ${value}`, `${path}.${field}`);
    if (value !== 0 && retryOn.length === 0 && field !== 'timeout_ms') throw new InvalidInputError('is set without retry_on', `${path}.${field}`);
    return value === 0 ? undefined : value;
  };
  const numRetries = bounded(wire.numRetries, MAX_RETRIES, 'num_retries');
  const perTryTimeoutMs = bounded(wire.perTryTimeoutMs, MAX_TIMEOUT_MS, 'per_try_timeout_ms');
  const timeoutMs = bounded(wire.timeoutMs, MAX_TIMEOUT_MS, 'timeout_ms');
  return {
    retryOn,
    ...(numRetries !== undefined ? { numRetries } : {}),
    ...(perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };
}

function validateEndpoint(wire: WireServiceEndpoints['endpoints'][number], path: string): MeshEndpoint {
  if (isIP(wire.address) === 0) throw new InvalidInputError(`${JSON.stringify(wire.address)} is not an IP literal`, `${path}.address`);
  if (!Number.isInteger(wire.port) || wire.port < 1 || wire.port > 65_535) throw new InvalidInputError(`must be a port from 1 to 65535, got ${wire.port}`, `${path}.port`);
  const health = HEALTH_FROM_WIRE[wire.health];
  if (!health) throw new InvalidInputError(`must be passing, warning, critical or draining, got ${wire.health}`, `${path}.health`);
  if (wire.zone.length > MAX_ZONE_LENGTH || /[\s\x00-\x1f]/.test(wire.zone)) throw new InvalidInputError(`${JSON.stringify(wire.zone)} is not a zone name`, `${path}.zone`);
  if (wire.instanceName.length > MAX_INSTANCE_NAME_LENGTH) throw new InvalidInputError(`longer than ${MAX_INSTANCE_NAME_LENGTH} characters`, `${path}.instance_name`);
  if (!Number.isInteger(wire.weight) || wire.weight < 0 || wire.weight > MAX_WEIGHT) {
    throw new InvalidInputError(`must be a whole number from 0 (= 1) to ${MAX_WEIGHT}, got ${wire.weight}`, `${path}.weight`);
  }
  // Lower-cased: ARM IDs are case-insensitive, and so is the subset cluster named after one (traffic-split.ts).
  const scaleSet = (wire.scaleSet ?? '').toLowerCase();
  if (scaleSet.length > MAX_SCALE_SET_LENGTH || /[^\x21-\x7e]/.test(scaleSet)) throw new InvalidInputError(`${JSON.stringify(scaleSet)} is not a scale set ID`, `${path}.scale_set`);
  const scaleSetWeight = wire.scaleSetWeight ?? 0;
  if (!Number.isInteger(scaleSetWeight) || scaleSetWeight < 0 || scaleSetWeight > MAX_SCALE_SET_WEIGHT) {
    throw new InvalidInputError(`must be a whole number from 0 to ${MAX_SCALE_SET_WEIGHT}, got ${scaleSetWeight}`, `${path}.scale_set_weight`);
  }
  if (wire.hasScaleSetWeight && scaleSet === '') throw new InvalidInputError('a scale set weight needs its scale_set', `${path}.has_scale_set_weight`);
  return {
    address: wire.address,
    port: wire.port,
    zone: wire.zone,
    health,
    weight: wire.weight === 0 ? 1 : wire.weight, // 0 = the default (push.proto)
    instanceName: wire.instanceName,
    ...(scaleSet ? { scaleSet } : {}),
    ...(wire.hasScaleSetWeight ? { scaleSetWeight } : {}),
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Hooks must not break a push. */
function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // a failing observer is its own problem, not the pusher's
  }
}
