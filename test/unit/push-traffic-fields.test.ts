/**
 * The push API carries each endpoint's scale set and weight and the service's route policy; what
 * older pushers send (none of them) reads as "no weight, no policy", and bad values are refused
 * with the path of the field.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toWireRequest } from '../../src/relay/push/push-client';
import type { WirePushRequest, WireServiceEndpoints } from '../../src/relay/push/push-proto';
import { validatePushRequest } from '../../src/relay/push/push-server';
import type { ServiceEndpointSet } from '../../src/shared/endpoints';

const BLUE = '/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/blue';

const SET: ServiceEndpointSet = {
  service: 'orders',
  consulIndex: 5,
  protocol: 'grpc',
  endpoints: [
    { address: '10.0.0.1', port: 50051, zone: '1', health: 'passing', weight: 1, instanceName: 'blue_0', scaleSet: BLUE, scaleSetWeight: 0 },
    { address: '10.0.0.2', port: 50051, zone: '1', health: 'passing', weight: 1, instanceName: 'green_0', scaleSet: `${BLUE}x`, scaleSetWeight: 1000 },
    { address: '10.0.0.3', port: 50051, zone: '1', health: 'passing', weight: 1, instanceName: 'old_0' },
  ],
  policy: { retryOn: ['unavailable', 'reset'], numRetries: 4, perTryTimeoutMs: 200, timeoutMs: 1000 },
};

function wire(change: (service: WireServiceEndpoints) => void): WirePushRequest {
  const request = toWireRequest([SET], 'test');
  change(request.services[0] as WireServiceEndpoints);
  return request;
}

describe('push: scale sets, weights and policy', () => {
  test('what the client sends is what the relay takes', () => {
    assert.deepEqual(validatePushRequest(toWireRequest([SET], 'test')), [SET]);
  });

  test('an older pusher (no new fields; proto defaults): no weight, no policy', () => {
    const old = wire((s) => {
      s.policy = null;
      for (const e of s.endpoints) {
        delete e.scaleSet;
        delete e.hasScaleSetWeight;
        delete e.scaleSetWeight;
      }
    });
    const [set] = validatePushRequest(old);
    assert.equal(set?.policy, undefined);
    assert.deepEqual(set?.endpoints.map((e) => [e.scaleSet, e.scaleSetWeight]), [
      [undefined, undefined],
      [undefined, undefined],
      [undefined, undefined],
    ]);
    const defaults = wire((s) => {
      s.policy = { retryOn: [], numRetries: 0, perTryTimeoutMs: 0, timeoutMs: 0 };
    });
    assert.equal(validatePushRequest(defaults)[0]?.policy, undefined, 'an all-default policy is no policy');
  });

  test('scale set IDs are lower-cased (ARM IDs are case-insensitive, subset cluster names too)', () => {
    const mixedCase = wire((s) => {
      (s.endpoints[0] as { scaleSet: string }).scaleSet = BLUE.toUpperCase();
    });
    assert.equal(validatePushRequest(mixedCase)[0]?.endpoints[0]?.scaleSet, BLUE);
  });

  test('bad values are refused with the field path', () => {
    const cases: Array<[(s: WireServiceEndpoints) => void, RegExp]> = [
      [(s) => ((s.endpoints[0] as { scaleSetWeight: number }).scaleSetWeight = 1001), /^services\[0\]\.endpoints\[0\]\.scale_set_weight: must be a whole number from 0 to 1000, got 1001$/],
      [(s) => ((s.endpoints[2] as { hasScaleSetWeight: boolean }).hasScaleSetWeight = true), /^services\[0\]\.endpoints\[2\]\.has_scale_set_weight: a scale set weight needs its scale_set$/],
      [(s) => ((s.endpoints[1] as { scaleSet: string }).scaleSet = 'a b'), /^services\[0\]\.endpoints\[1\]\.scale_set: "a b" is not a scale set ID$/],
      [(s) => s.policy?.retryOn.push('not-found'), /^services\[0\]\.policy\.retry_on\[2\]: "not-found" is not a retry condition$/],
      [(s) => s.policy && (s.policy.numRetries = 5), /^services\[0\]\.policy\.num_retries: must be a whole number from 0 \(= none\) to 4, got 5$/],
      [(s) => s.policy && ((s.policy.retryOn = []), (s.policy.timeoutMs = 0)), /^services\[0\]\.policy\.num_retries: is set without retry_on$/],
      [(s) => s.policy && (s.policy.timeoutMs = 3_600_001), /^services\[0\]\.policy\.timeout_ms: must be a whole number from 0 \(= none\) to 3600000, got 3600001$/],
    ];
    for (const [change, message] of cases) assert.throws(() => validatePushRequest(wire(change)), { name: 'InvalidInputError', message });
  });
});
