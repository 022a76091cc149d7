/**
 * Fuzz of the push API payloads as the relay receives them: the bytes of a PushEndpointsRequest go
 * through the service's own deserializer (what grpc-js calls) and then `validatePushRequest`. Bytes
 * protobuf cannot read make the deserializer throw, which grpc-js turns into a failed call; whatever
 * it does read is either accepted or refused with InvalidInputError naming the field. A valid
 * request survives the wire unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ServiceEndpointSet } from '../../src/shared/endpoints';
import { InvalidInputError } from '../../src/shared/errors';
import { endpointPushService, PUSH_METHOD, type WireEndpointHealth, type WirePushRequest } from '../../src/relay/push/push-proto';
import { validatePushRequest } from '../../src/relay/push/push-server';
import { mutatedBytesArb } from '../helpers/arbitraries';
import { fuzz, onlyThrows } from '../helpers/fuzz-runs';

// The service definition is keyed by the proto's method name; the implementation by PUSH_METHOD.
const definition = Object.values(endpointPushService().service).find((m) => m.path.toLowerCase().endsWith(`/${PUSH_METHOD.toLowerCase()}`));
if (!definition) throw new Error(`the push service has no ${PUSH_METHOD} method`);
const serialize = (request: WirePushRequest): Buffer => definition.requestSerialize(request);
const deserialize = (bytes: Buffer): WirePushRequest => definition.requestDeserialize(bytes) as WirePushRequest;

const HEALTH: readonly WireEndpointHealth[] = ['ENDPOINT_HEALTH_PASSING', 'ENDPOINT_HEALTH_WARNING', 'ENDPOINT_HEALTH_CRITICAL', 'ENDPOINT_HEALTH_DRAINING'];

const validEndpoint = fc.record({
  address: fc.oneof(fc.ipV4(), fc.ipV6()),
  port: fc.integer({ min: 1, max: 65535 }),
  zone: fc.constantFrom('', '1', '2', '3'),
  health: fc.constantFrom(...HEALTH),
  weight: fc.integer({ min: 1, max: 1000 }),
  instanceName: fc.constantFrom('', 'web_0', 'vm-1'),
});
const validService = fc.record({
  service: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/),
  consulIndex: fc.integer({ min: 1, max: 2 ** 40 }),
  endpoints: fc.uniqueArray(validEndpoint, { selector: (e) => `${e.address} ${e.port}`, maxLength: 5 }),
  protocol: fc.constantFrom('http', 'grpc', 'tcp'),
  healthPath: fc.constantFrom('', '/healthz'),
});
const validRequest: fc.Arbitrary<WirePushRequest> = fc.record({
  services: fc.uniqueArray(validService, { selector: (s) => s.service, maxLength: 4 }),
  source: fc.constantFrom('vmssEvents', 'reconcileTimer', ''),
});

/** Requests with one field of the wrong value: what a buggy or hostile pusher could encode. */
const nearValidRequest: fc.Arbitrary<WirePushRequest> = fc
  .tuple(validRequest, validService, fc.nat(8), fc.oneof(fc.string({ maxLength: 30 }), fc.integer({ min: -1, max: 2 ** 32 })))
  .map(([request, extra, field, value]) => {
    const services = [...request.services, extra];
    const target = services[services.length - 1] as (typeof services)[number];
    const endpoint = target.endpoints[0] ?? { address: '10.0.0.1', port: 80, zone: '', health: 'ENDPOINT_HEALTH_PASSING' as const, weight: 1, instanceName: '' };
    const asString = String(value);
    const asNumber = typeof value === 'number' ? value : asString.length;
    const edited = [
      () => ({ ...target, service: asString }),
      () => ({ ...target, consulIndex: asNumber }),
      () => ({ ...target, protocol: asString }),
      () => ({ ...target, healthPath: asString }),
      () => ({ ...target, endpoints: [{ ...endpoint, address: asString }] }),
      () => ({ ...target, endpoints: [{ ...endpoint, port: asNumber }] }),
      () => ({ ...target, endpoints: [{ ...endpoint, zone: asString }] }),
      () => ({ ...target, endpoints: [{ ...endpoint, weight: asNumber }, endpoint] }),
      () => ({ ...target, endpoints: [{ ...endpoint, health: 'ENDPOINT_HEALTH_UNSPECIFIED' as const }] }),
    ][field] as () => (typeof services)[number];
    return { ...request, services: [...services.slice(0, -1), edited()] };
  });

function encodable(request: WirePushRequest): Buffer | undefined {
  try {
    return serialize(request);
  } catch {
    return undefined; // a value protobuf cannot write (e.g. a negative uint32) never reaches the relay
  }
}

const hostileBytes: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 2, arbitrary: validRequest.map(serialize) },
  { weight: 2, arbitrary: nearValidRequest.map((r) => encodable(r) ?? Buffer.alloc(0)) },
  { weight: 4, arbitrary: mutatedBytesArb(validRequest.map(serialize)).map((b) => Buffer.from(b)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 96 }).map((b) => Buffer.from(b)) },
);

function expectedSets(request: WirePushRequest): ServiceEndpointSet[] {
  return request.services.map((s) => ({
    service: s.service,
    consulIndex: s.consulIndex,
    protocol: s.protocol,
    ...(s.healthPath ? { healthPath: s.healthPath } : {}),
    endpoints: s.endpoints.map((e) => ({ address: e.address, port: e.port, zone: e.zone, health: e.health.replace('ENDPOINT_HEALTH_', '').toLowerCase() as ServiceEndpointSet['endpoints'][number]['health'], weight: e.weight, instanceName: e.instanceName })),
  }));
}

test('fuzz: push payload bytes are read and validated, or refused with InvalidInputError; never anything else', async (t) => {
  await fuzz(
    t,
    'push payload (deserialize + validatePushRequest)',
    12000,
    fc.property(hostileBytes, (bytes) => {
      let request: WirePushRequest;
      try {
        request = deserialize(bytes);
      } catch (error) {
        // grpc-js answers a call whose request cannot be deserialized with INTERNAL; the handler never runs.
        assert.ok(error instanceof Error && error.message.length > 0, String(error));
        return;
      }
      const error = onlyThrows(InvalidInputError, () => validatePushRequest(request));
      if (error) assert.match(error.message, /^services\[\d+\]/, 'the message names the field');
    }),
  );
});

test('fuzz: a valid push survives the wire unchanged (serialize → deserialize → validate)', async (t) => {
  await fuzz(
    t,
    'push payload round trip',
    3000,
    fc.property(validRequest, (request) => {
      assert.deepEqual(validatePushRequest(deserialize(serialize(request))), expectedSets(request));
    }),
  );
});
