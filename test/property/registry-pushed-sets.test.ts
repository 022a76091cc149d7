/**
 * The endpoint sets a reconcile pushes without reading Consul again (consul/pushed-sets.ts) are
 * what Consul holds once the commit is in: for random worlds (instances appearing, leaving,
 * changing health, zone, port and drain; checks of consul-esm and of someone else on our nodes;
 * another scale set carrying the same service), every set computed equals the set
 * `serviceEndpoints` reads right after the commit, except for the index, which is never above
 * the read's. A service the run cannot vouch for (another scale set carries it) is left to read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startConsulDouble } from '../../src/sandbox/consul-double';
import { ConsulRegistry } from '../../src/shared/consul';
import type { DesiredNode } from '../../src/shared/model';
import { consulConfigFor, consulHttp, desiredNode, localPlan, scaleSetId } from '../helpers/consul-fixtures';

const SS = scaleSetId('pushed');
const OTHER = scaleSetId('pushed-other');

const vmArb = fc.record({
  index: fc.nat(7),
  ip: fc.constantFrom('10.0.0.4', '10.0.0.5'),
  zone: fc.constantFrom(undefined, '1', '2'),
  status: fc.constantFrom('passing' as const, 'warning' as const, 'critical' as const),
  draining: fc.boolean(),
  services: fc.uniqueArray(fc.record({ name: fc.constantFrom('web', 'api'), port: fc.constantFrom(80, 81), protocol: fc.constantFrom('http', 'grpc') }), {
    selector: (s) => s.name,
    minLength: 1,
    maxLength: 2,
  }),
});
type Vm = typeof vmArb extends fc.Arbitrary<infer T> ? T : never;
const nodeOf = (scaleSet: string) => (v: Vm): DesiredNode => desiredNode(scaleSet, { name: `vm_${v.index}`, ip: v.ip, zone: v.zone, status: v.status, draining: v.draining, services: v.services });

const worldArb = fc.record({
  before: fc.uniqueArray(vmArb, { selector: (v) => v.index, maxLength: 6 }),
  after: fc.uniqueArray(vmArb, { selector: (v) => v.index, maxLength: 6 }),
  /** Checks someone else keeps on our nodes (by node index): consul-esm's node check, a service check. */
  otherChecks: fc.array(fc.record({ index: fc.nat(7), id: fc.constantFrom('externalNodeHealth', 'disk', 'web-extra'), status: fc.constantFrom('passing', 'warning', 'critical') }), { maxLength: 3 }),
  otherScaleSetCarries: fc.option(fc.constantFrom('web', 'api'), { nil: null, freq: 3 }),
});

test('pushed endpoint sets equal what Consul holds after the commit', async () => {
  let computed = 0;
  let read = 0;
  await fc.assert(
    fc.asyncProperty(worldArb, async ({ before, after, otherChecks, otherScaleSetCarries }) => {
      const consul = await startConsulDouble();
      const registry = new ConsulRegistry({ consul: consulConfigFor(consul.url), kvPrefix: 'vmss-mesh', txnBatchSize: 8, tombstoneTtlMs: 0 });
      try {
        let now = 1_000;
        const first = await registry.beginReconcile(SS, now);
        await first.apply(localPlan(SS, before.map(nodeOf(SS)), first));
        if (otherScaleSetCarries) {
          const other = await registry.beginReconcile(OTHER, now);
          await other.apply(localPlan(OTHER, [desiredNode(OTHER, { name: 'other_0', ip: '10.9.0.4', services: [{ name: otherScaleSetCarries, port: 80 }] })], other));
        }
        for (const c of otherChecks) {
          const vm = before[c.index % Math.max(1, before.length)];
          if (!vm) continue;
          const node = nodeOf(SS)(vm).node;
          const serviceId = c.id === 'web-extra' ? 'web' : '';
          if (serviceId && !consul.state.snapshot().services.some((s) => s.node === node && s.id === serviceId)) continue;
          await consulHttp(consul.url, 'PUT', '/v1/catalog/register', { body: { Node: node, SkipNodeUpdate: true, Check: { CheckID: c.id, Name: c.id, Status: c.status, ServiceID: serviceId } } });
        }

        now += 10_000;
        const second = await registry.beginReconcile(SS, now);
        const result = await second.apply(localPlan(SS, after.map(nodeOf(SS)), second));
        const pushed = result.pushed;
        assert.deepEqual([...pushed.sets.map((s) => s.service), ...pushed.toRead].sort(), [...result.changedServices].sort(), 'every changed service is pushed or read');
        if (otherScaleSetCarries && result.changedServices.includes(otherScaleSetCarries)) assert.ok(pushed.toRead.includes(otherScaleSetCarries), 'a service another scale set carries is read');
        const truth = await registry.serviceEndpoints(pushed.sets.map((s) => s.service));
        for (const set of pushed.sets) {
          const actual = truth.find((t) => t.service === set.service);
          assert.ok(actual);
          assert.deepEqual({ ...set, consulIndex: 0 }, { ...actual, consulIndex: 0 }, `the pushed set of ${set.service} is Consul's`);
          assert.ok(set.consulIndex >= 1 && set.consulIndex <= actual.consulIndex, `index ${set.consulIndex} not above Consul's ${actual.consulIndex}`);
        }
        computed += pushed.sets.length;
        read += pushed.toRead.length;
      } finally {
        registry.close();
        await consul.close();
      }
    }),
    { numRuns: 150 },
  );
  assert.ok(computed > 0 && read > 0, `both paths taken (computed ${computed}, read ${read})`);
});
