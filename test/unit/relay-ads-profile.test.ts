import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profileOfNode } from '../../src/relay/ads/profile';
import { InvalidInputError } from '../../src/shared/errors';
import type { NodeIdentity } from '../../src/relay/ads/ads-requests';

function node(partial: Partial<NodeIdentity>): NodeIdentity {
  return { id: 'n', cluster: '', userAgentName: '', metadata: {}, ...partial };
}

test('metadata vmss_mesh_profile wins over every other hint', () => {
  assert.equal(profileOfNode(node({ userAgentName: 'envoy', metadata: { vmss_mesh_profile: 'proxyless-grpc' } })), 'proxyless-grpc');
  assert.equal(profileOfNode(node({ userAgentName: 'gRPC Go', metadata: { vmss_mesh_profile: 'envoy-gateway' } })), 'envoy-gateway');
});

test('an unknown vmss_mesh_profile is refused with the field path', () => {
  for (const [value, shown] of [
    ['sidecar', '"sidecar"'],
    [3, '3'],
    ['', '""'],
  ] as const) {
    assert.throws(() => profileOfNode(node({ metadata: { vmss_mesh_profile: value } })), (error: unknown) => {
      assert.ok(error instanceof InvalidInputError);
      assert.equal(error.message, `node.metadata.vmss_mesh_profile: expected one of envoy-gateway, proxyless-grpc, got ${shown}`);
      assert.equal(error.retryable, false);
      return true;
    });
  }
});

test('user agents: envoy is a gateway, gRPC libraries are proxyless', () => {
  assert.equal(profileOfNode(node({ userAgentName: 'envoy' })), 'envoy-gateway');
  assert.equal(profileOfNode(node({ userAgentName: 'Envoy', cluster: 'backend' })), 'envoy-gateway');
  for (const agent of ['gRPC Node Pure JS', 'gRPC Go', 'gRPC Java', 'grpc C-core']) {
    assert.equal(profileOfNode(node({ userAgentName: agent, cluster: 'my-gateway' })), 'proxyless-grpc', agent);
  }
});

test('otherwise a cluster naming a gateway, else proxyless', () => {
  assert.equal(profileOfNode(node({ cluster: 'edge-GATEWAY-1' })), 'envoy-gateway');
  assert.equal(profileOfNode(node({ userAgentName: 'grpcurl', cluster: 'gateway' })), 'envoy-gateway');
  assert.equal(profileOfNode(node({ cluster: 'orders' })), 'proxyless-grpc');
  assert.equal(profileOfNode(node({})), 'proxyless-grpc');
});
