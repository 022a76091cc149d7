/**
 * Retries from tags, end to end (issue 13): a service of two instances, one of which fails half
 * its calls with UNAVAILABLE. Without retry tags about half of that instance's share fails at the
 * real @grpc/grpc-js-xds client; after `vmss-mesh-retry-on=unavailable`, `vmss-mesh-retries=3`
 * (an ordinary update through Consul and the relay's watch) fewer than 1 % of calls fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { shutdownGrpcServer } from '../../src/relay/grpc-shutdown';
import { healthServiceDefinition, INSTANCE_METADATA_KEY, startDemoBackend } from '../../src/sandbox/backends/demo-backend';
import { claimLoopbackBlock } from '../../src/sandbox/loopback-block';
import { grpcBootstrap, XdsTraffic } from '../../src/sandbox/traffic/xds-traffic';
import { parseMeshTags } from '../../src/shared/azure/mesh-tags';
import type { Instance, MeshScaleSet } from '../../src/shared/model';
import { scaleSetRef } from '../../src/shared/resource-id';
import { deferrer } from '../helpers/defer';
import { applyReconcile, startConsulWithRegistry } from '../helpers/reconcile-steps';
import { startWatchingRelay } from '../helpers/watching-relay';

const SUBSCRIPTION = '00000000-0000-0000-0000-0000000000e4';

/** A gRPC health backend that answers UNAVAILABLE (trailers only, so a client may retry) to about half its calls. */
async function startFlakyBackend(instanceName: string, address: string, port: number): Promise<{ failed: () => number; served: () => number; close: () => Promise<void> }> {
  let failed = 0;
  let served = 0;
  const server = new grpc.Server();
  server.addService(healthServiceDefinition(), {
    Check(call: grpc.ServerUnaryCall<unknown, { status: string }>, callback: grpc.sendUnaryData<{ status: string }>) {
      if (Math.random() < 0.5) {
        failed += 1;
        callback({ code: grpc.status.UNAVAILABLE, details: `${instanceName} fails half its calls` });
        return;
      }
      served += 1;
      const md = new grpc.Metadata();
      md.set(INSTANCE_METADATA_KEY, instanceName);
      call.sendMetadata(md);
      callback(null, { status: 'SERVING' });
    },
    Watch(call: grpc.ServerWritableStream<unknown, { status: string }>) {
      call.end();
    },
  });
  await new Promise<number>((resolve, reject) => server.bindAsync(`${address}:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))));
  return { failed: () => failed, served: () => served, close: () => shutdownGrpcServer(server, 200) };
}

test('an instance failing half its calls with UNAVAILABLE: about half its share fails without retries, < 1 % with retry tags', async (t) => {
  const defer = deferrer(t);
  const { consul, registry } = await startConsulWithRegistry(defer, SUBSCRIPTION);
  const block = await claimLoopbackBlock();
  defer(() => block.release());
  const ip = (n: number) => `127.${block.octet}.64.${n}`;
  const good = await startDemoBackend({ instanceName: 'orders_1', address: ip(1), grpcPort: 0 });
  defer(() => good.close());
  const port = good.grpcPort;
  const flaky = await startFlakyBackend('orders_2', ip(2), port);
  defer(() => flaky.close());

  const ref = scaleSetRef(SUBSCRIPTION, 'rg', 'orders');
  const instances: Instance[] = [1, 2].map((n) => ({
    name: `orders_${n}`,
    instanceId: String(n),
    resourceId: `${ref.id}/virtualmachines/${n}`,
    privateIps: [ip(n)],
    zone: '1',
    provisioningState: 'Succeeded',
    powerState: 'running',
  }));
  const reconcile = async (tags: Record<string, string>) => {
    const parsed = parseMeshTags(tags);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('; '));
    const scaleSet: MeshScaleSet = { ref, orchestrationMode: 'Uniform', capacity: 2, location: 'westeurope', tags, services: parsed.services };
    await applyReconcile(registry, { ref, state: 'in-mesh', scaleSet, instances, maxRemovalShare: 0.5 });
  };
  const baseTags = { 'vmss-mesh-service': 'orders', 'vmss-mesh-port': String(port), 'vmss-mesh-protocol': 'grpc' };
  await reconcile(baseTags);

  const relay = await startWatchingRelay(consul.url);
  defer(() => relay.close());
  await relay.ready;

  const traffic = new XdsTraffic({ service: 'orders', bootstrap: grpcBootstrap({ serverUri: relay.xdsAddress, nodeId: 'retries-client' }), concurrency: 4, pauseMs: 0 });
  defer(() => traffic.close());
  await traffic.warmUp();
  traffic.start();
  const CALLS = 2_000;

  // Without retries: the flaky instance's failures reach the client.
  let since = Date.now();
  let flakyFailedBefore = flaky.failed();
  let flakyServedBefore = flaky.served();
  await traffic.waitFor(() => traffic.recordsSince(since).length >= CALLS, 60_000, `${CALLS} calls without retries`);
  const without = traffic.shares(since);
  const flakyShareFailed = (flaky.failed() - flakyFailedBefore) / (flaky.failed() - flakyFailedBefore + flaky.served() - flakyServedBefore);
  const flakyCallsFailed = without.failed / (without.failed + (without.perInstance.get('orders_2') ?? 0));
  t.diagnostic(`without retries: ${without.calls} calls, ${without.failed} failed (${((100 * without.failed) / without.calls).toFixed(1)} %); of the flaky instance's share ${(100 * flakyCallsFailed).toFixed(1)} % failed`);
  assert.ok(flakyCallsFailed > 0.35 && flakyCallsFailed < 0.65, `about half of the flaky instance's share fails (${flakyCallsFailed})`);
  assert.ok(Math.abs(flakyShareFailed - flakyCallsFailed) < 0.05, 'every failure the instance answered reached the client');
  assert.ok(without.failed / without.calls > 0.15, 'a quarter of all calls (half of half) fails');

  // Retry tags: an ordinary update; the client gets the route's retry policy.
  await reconcile({ ...baseTags, 'vmss-mesh-retry-on': 'unavailable', 'vmss-mesh-retries': '3' });
  await traffic.waitFor((records) => records.length >= 200 && records.slice(-200).every((r) => !r.error), 15_000, '200 calls in a row without a failure after the retry tags');
  since = Date.now();
  flakyFailedBefore = flaky.failed();
  flakyServedBefore = flaky.served();
  await traffic.waitFor(() => traffic.recordsSince(since).length >= CALLS, 60_000, `${CALLS} calls with retries`);
  await traffic.stop();
  const withRetries = traffic.shares(since);
  const attemptsFailed = flaky.failed() - flakyFailedBefore;
  t.diagnostic(
    `with retries (unavailable, 3): ${withRetries.calls} calls, ${withRetries.failed} failed (${((100 * withRetries.failed) / withRetries.calls).toFixed(2)} %); the flaky instance still failed ${attemptsFailed} attempts`,
  );
  assert.ok(attemptsFailed > CALLS / 10, 'the instance kept failing: the retries hid it');
  assert.ok(withRetries.failed / withRetries.calls < 0.01, `${withRetries.failed} of ${withRetries.calls} calls failed`);
  assert.equal(relay.ads.clients()[0]?.lastNack, undefined, 'the client never rejected a resource');
});
