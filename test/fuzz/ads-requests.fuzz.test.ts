/**
 * Fuzz of the relay's xDS request decoding (src/relay/ads/ads-requests.ts): the bytes of a
 * DiscoveryRequest / DeltaDiscoveryRequest, well-formed, damaged or random. Decoding never throws
 * (grpc-js would end the call without telling the stream): it gives a request or `malformed` with
 * a message, and what Envoy's own encoder wrote decodes back to the same fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeDeltaRequest, decodeSotwRequest } from '../../src/relay/ads/ads-requests';
import { envoyType } from '../../src/relay/xds/envoy-protos';
import { mutatedBytesArb } from '../helpers/arbitraries';
import { fuzz } from '../helpers/fuzz-runs';

const TYPE_URLS = [
  'type.googleapis.com/envoy.config.listener.v3.Listener',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
];
const text = fc.oneof(fc.constantFrom('', 'web', 'xds:///web', '*', 'é', '\u0000'), fc.string({ maxLength: 24 }));
const typeUrl = fc.oneof(fc.constantFrom(...TYPE_URLS), text);
const structValue: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ value: Record<string, unknown> }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text.map((stringValue) => ({ stringValue })),
    fc.double({ noNaN: true }).map((numberValue) => ({ numberValue })),
    fc.boolean().map((boolValue) => ({ boolValue })),
    fc.constant({ nullValue: 'NULL_VALUE' }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 3 }).map((fields) => ({ structValue: { fields } })),
    fc.array(tie('value'), { maxLength: 3 }).map((values) => ({ listValue: { values } })),
  ),
})).value;
const node = fc.record(
  {
    id: text,
    cluster: text,
    user_agent_name: fc.constantFrom('envoy', 'grpc-node-js', ''),
    locality: fc.record({ region: text, zone: fc.constantFrom('1', '2', '3', '') }),
    metadata: fc.dictionary(fc.oneof(fc.constant('vmss_mesh_profile'), fc.string({ maxLength: 8 })), structValue, { maxKeys: 3 }).map((fields) => ({ fields })),
  },
  { requiredKeys: ['id'] },
);
const errorDetail = fc.record({ code: fc.integer({ min: 0, max: 16 }), message: text });

const sotwMessage = fc.record(
  { version_info: text, node, resource_names: fc.array(text, { maxLength: 4 }), type_url: typeUrl, response_nonce: text, error_detail: errorDetail },
  { requiredKeys: ['type_url'] },
);
const deltaMessage = fc.record(
  {
    node,
    type_url: typeUrl,
    resource_names_subscribe: fc.array(text, { maxLength: 4 }),
    resource_names_unsubscribe: fc.array(text, { maxLength: 4 }),
    initial_resource_versions: fc.dictionary(fc.string({ maxLength: 8 }), text, { maxKeys: 3 }),
    response_nonce: text,
    error_detail: errorDetail,
  },
  { requiredKeys: ['type_url'] },
);

const sotwType = envoyType('envoy.service.discovery.v3.DiscoveryRequest');
const deltaType = envoyType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
const encodeSotw = (m: Record<string, unknown>) => sotwType.encode(sotwType.fromObject(m)).finish();
const encodeDelta = (m: Record<string, unknown>) => deltaType.encode(deltaType.fromObject(m)).finish();

/** Structured messages, damaged ones, the other mode's messages, and random bytes. */
function hostileBytes(own: fc.Arbitrary<Uint8Array>, other: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 2, arbitrary: own },
    { weight: 4, arbitrary: mutatedBytesArb(own) },
    { weight: 1, arbitrary: other },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 96 }) },
    // A length-delimited field claiming more bytes than there are, and unknown fields of every wire type.
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 40 }), fc.nat(7), fc.uint8Array({ maxLength: 16 })).map(([field, wire, rest]) => Uint8Array.from([(field << 3) | wire, 0xff, 0xff, 0xff, 0xff, 0x0f, ...rest])) },
  );
}
const sotwBytes = sotwMessage.map(encodeSotw);
const deltaBytes = deltaMessage.map(encodeDelta);

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

test('fuzz: DiscoveryRequest bytes decode to a request or "malformed", never a throw', async (t) => {
  await fuzz(
    t,
    'decodeSotwRequest',
    15000,
    fc.property(hostileBytes(sotwBytes, deltaBytes), (bytes) => {
      const decoded = decodeSotwRequest(bytes);
      if (decoded.mode === 'malformed') return assert.ok(decoded.error.length > 0);
      assert.equal(decoded.mode, 'sotw');
      assert.ok(typeof decoded.typeUrl === 'string' && typeof decoded.versionInfo === 'string' && typeof decoded.responseNonce === 'string');
      assert.ok(isStringArray(decoded.resourceNames));
      if (decoded.node) assert.ok(typeof decoded.node.id === 'string' && typeof decoded.node.metadata === 'object');
    }),
  );
});

test('fuzz: DeltaDiscoveryRequest bytes decode to a request or "malformed", never a throw', async (t) => {
  await fuzz(
    t,
    'decodeDeltaRequest',
    15000,
    fc.property(hostileBytes(deltaBytes, sotwBytes), (bytes) => {
      const decoded = decodeDeltaRequest(bytes);
      if (decoded.mode === 'malformed') return assert.ok(decoded.error.length > 0);
      assert.equal(decoded.mode, 'delta');
      assert.ok(isStringArray(decoded.subscribe) && isStringArray(decoded.unsubscribe));
      for (const [name, version] of decoded.initialResourceVersions) assert.ok(typeof name === 'string' && typeof version === 'string');
    }),
  );
});

test('fuzz: what Envoy writes, the relay reads back (SotW and Delta round trip)', async (t) => {
  await fuzz(
    t,
    'ADS request round trip',
    3000,
    fc.property(sotwMessage, deltaMessage, (sotw, delta) => {
      const s = decodeSotwRequest(encodeSotw(sotw));
      assert.equal(s.mode, 'sotw');
      if (s.mode !== 'sotw') return;
      assert.equal(s.typeUrl, sotw['type_url']);
      assert.equal(s.versionInfo, sotw['version_info'] ?? '');
      assert.deepEqual(s.resourceNames, sotw['resource_names'] ?? []);
      assert.equal(s.responseNonce, sotw['response_nonce'] ?? '');
      assert.equal(s.errorDetail?.code ?? 0, (sotw['error_detail'] as { code?: number } | undefined)?.code ?? 0);
      if (sotw['node']) assert.equal(s.node?.id, (sotw['node'] as { id: string }).id);

      const d = decodeDeltaRequest(encodeDelta(delta));
      assert.equal(d.mode, 'delta');
      if (d.mode !== 'delta') return;
      assert.equal(d.typeUrl, delta['type_url']);
      assert.deepEqual(d.subscribe, delta['resource_names_subscribe'] ?? []);
      assert.deepEqual(d.unsubscribe, delta['resource_names_unsubscribe'] ?? []);
      assert.deepEqual(Object.fromEntries(d.initialResourceVersions), { ...((delta['initial_resource_versions'] as Record<string, string> | undefined) ?? {}) });
      assert.equal(d.responseNonce, delta['response_nonce'] ?? '');
    }),
  );
});

/** Protobuf wire helpers, to write nesting no encoder would produce. */
const varint = (n: number): number[] => (n > 127 ? [(n & 127) | 128, ...varint(Math.floor(n / 128))] : [n]);
const lengthDelimited = (field: number, body: readonly number[]): number[] => [(field << 3) | 2, ...varint(body.length), ...body];

/** A DiscoveryRequest whose node.metadata holds a google.protobuf.Struct nested `depth` levels deep. */
function deeplyNestedRequest(depth: number): Uint8Array {
  let value = lengthDelimited(3, [0x78]); // Value.string_value = "x"
  const entry = (v: number[]) => [...lengthDelimited(1, [0x6b]), ...lengthDelimited(2, v)]; // map entry "k" → v
  for (let i = 0; i < depth; i += 1) value = lengthDelimited(5, lengthDelimited(1, entry(value))); // Value.struct_value.fields
  const node = [...lengthDelimited(1, [0x6e]), ...lengthDelimited(3, lengthDelimited(1, entry(value)))]; // Node.id, Node.metadata
  return Uint8Array.from([...lengthDelimited(2, node), ...lengthDelimited(4, [0x74])]); // DiscoveryRequest.node, type_url
}

test('fuzz: deeply nested node metadata is decoded or refused, never a stack overflow', () => {
  for (const depth of [1, 10, 60, 100, 1000, 3000]) {
    const decoded = decodeSotwRequest(deeplyNestedRequest(depth));
    assert.ok(decoded.mode === 'sotw' || decoded.mode === 'malformed', `depth ${depth}`);
    if (depth >= 1000) assert.equal(decoded.mode, 'malformed', `depth ${depth} is refused by the decoder`);
  }
});
