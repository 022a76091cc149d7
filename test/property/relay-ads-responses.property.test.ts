/**
 * The hand-assembled ADS responses decode, with Envoy's own protos, to exactly what was put in:
 * any strings (Unicode included), any resource bytes, lengths across varint boundaries.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeDeltaResponse, encodeSotwResponse } from '../../src/relay/ads/ads-responses';
import { TYPE_URLS } from '../../src/relay/xds/kinds';
import { type EncodedResource, RESOURCE_KINDS, type ResourceKind } from '../../src/relay/xds/resource-kind';
import { envoyType } from '../../src/relay/xds/envoy-protos';

const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'grapheme-ascii', minLength: 120, maxLength: 140 }));
// Lengths around 127/128 and 16383/16384 change the size of the length prefix.
const bytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 16370, max: 16400 }).map((n) => new Uint8Array(n).fill(7)));

function resources(kind: ResourceKind) {
  return fc.array(
    fc.record({ name: text, version: text, bytes }).map((r): EncodedResource => ({ kind, ...r })),
    { maxLength: 6 },
  );
}

const sotwCase = fc.constantFrom(...RESOURCE_KINDS).chain((kind) =>
  fc.record({ kind: fc.constant(kind), versionInfo: text, nonce: text, resources: resources(kind) }),
);
const deltaCase = fc.constantFrom(...RESOURCE_KINDS).chain((kind) =>
  fc.record({ kind: fc.constant(kind), systemVersionInfo: text, nonce: text, resources: resources(kind), removed: fc.array(text, { maxLength: 5 }) }),
);

test('SotW responses decode to their contents', () => {
  const type = envoyType('envoy.service.discovery.v3.DiscoveryResponse');
  fc.assert(
    fc.property(sotwCase, (response) => {
      const decoded = type.toObject(type.decode(encodeSotwResponse(response)), { defaults: true, arrays: true });
      assert.equal(decoded.version_info, response.versionInfo);
      assert.equal(decoded.nonce, response.nonce);
      assert.equal(decoded.type_url, TYPE_URLS[response.kind]);
      assert.equal(decoded.resources.length, response.resources.length);
      response.resources.forEach((r, i) => {
        assert.equal(decoded.resources[i].type_url, TYPE_URLS[response.kind]);
        assert.deepEqual(Buffer.from(decoded.resources[i].value), Buffer.from(r.bytes));
      });
    }),
    { numRuns: 300 },
  );
});

test('Delta responses decode to their contents', () => {
  const type = envoyType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  fc.assert(
    fc.property(deltaCase, (response) => {
      const decoded = type.toObject(type.decode(encodeDeltaResponse(response)), { defaults: true, arrays: true });
      assert.equal(decoded.system_version_info, response.systemVersionInfo);
      assert.equal(decoded.nonce, response.nonce);
      assert.equal(decoded.type_url, TYPE_URLS[response.kind]);
      assert.deepEqual(decoded.removed_resources, response.removed);
      assert.equal(decoded.resources.length, response.resources.length);
      response.resources.forEach((r, i) => {
        const got = decoded.resources[i];
        assert.equal(got.name, r.name);
        assert.equal(got.version, r.version);
        assert.equal(got.resource.type_url, TYPE_URLS[response.kind]);
        assert.deepEqual(Buffer.from(got.resource.value), Buffer.from(r.bytes));
      });
    }),
    { numRuns: 300 },
  );
});

test('a resource of another kind is refused, not sent under the wrong type URL', () => {
  const cluster: EncodedResource = { kind: 'cluster', name: 'a', version: '1', bytes: new Uint8Array([8, 1]) };
  assert.throws(() => encodeSotwResponse({ kind: 'listener', versionInfo: 'v', nonce: 'n', resources: [cluster] }), {
    message: 'resource a is a cluster, not a listener',
  });
});
