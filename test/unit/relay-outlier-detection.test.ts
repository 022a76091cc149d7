/**
 * Regression: a cluster whose outlier_detection leaves the success-rate fields out makes
 * @grpc/grpc-js-xds enable success-rate ejection with `minimum_hosts` undefined, and grpc-js then
 * throws inside its outlier-detection timer (Array.reduce of an empty list), killing the client
 * process one interval (10 s) after it got the cluster. Every cluster we emit must decode, in
 * grpc-js-xds itself, to a fully specified success-rate config.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotStore } from '../../src/relay/snapshot/snapshot-store';
import { CLIENT_PROFILES } from '../../src/relay/snapshot/snapshot-store';

// grpc-js-xds's own Cluster decoder (internal path, as in test/helpers/envoy-strict.ts).
const { ClusterResourceType } = require('@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type.js') as {
  ClusterResourceType: new () => { decode(context: unknown, resource: { type_url: string; value: Buffer }): { value?: { outlierDetectionUpdate?: { success_rate_ejection?: Record<string, unknown> } }; error?: string } };
};

test('every cluster decodes in grpc-js-xds to a success-rate config with no undefined field', () => {
  const store = new SnapshotStore();
  store.publish({
    services: new Map([
      ['api', { service: 'api', consulIndex: 1, protocol: 'grpc', endpoints: [] }],
      ['web', { service: 'web', consulIndex: 1, protocol: 'http', healthPath: '/healthz', endpoints: [] }],
    ]),
    gatewayRoutes: [],
  });
  const decoder = new ClusterResourceType();
  let checked = 0;
  for (const profile of CLIENT_PROFILES) {
    for (const cluster of store.current(profile).resources.cluster.values()) {
      const result = decoder.decode({ server: { serverUri: 'relay', channelCredentials: { type: 'insecure' }, serverFeatures: [] } }, { type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', value: Buffer.from(cluster.bytes) });
      assert.equal(result.error, undefined);
      const successRate = result.value?.outlierDetectionUpdate?.success_rate_ejection;
      assert.ok(successRate, `${profile} ${cluster.name}: outlier detection is configured`);
      for (const field of ['enforcement_percentage', 'minimum_hosts', 'request_volume', 'stdev_factor']) {
        assert.equal(typeof successRate[field], 'number', `${profile} ${cluster.name}: success_rate_ejection.${field} = ${String(successRate[field])}`);
      }
      checked += 1;
    }
  }
  assert.equal(checked, 4);
});
