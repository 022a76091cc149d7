import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance, MeshScaleSet, MeshServiceSpec } from '../../src/shared/model';
import { NODE_META, OWNED_NODE_META, SERVICE_META, SERVICE_TAG, nodeNameFor } from '../../src/shared/ownership';
import { azureViewOf } from '../../src/shared/planner/azure-check';
import { desiredNodes } from '../../src/shared/planner/desired-state';
import { SKIP, WHOLE_SCALE_SET, skipCode } from '../../src/shared/planner/skip-reasons';

const SCALE_SET_ID = '/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg-mesh/providers/microsoft.compute/virtualmachinescalesets/web';

function scaleSetWith(services: MeshServiceSpec[]): MeshScaleSet {
  return {
    ref: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-mesh', name: 'web', id: SCALE_SET_ID },
    orchestrationMode: 'Uniform',
    capacity: 2,
    location: 'westeurope',
    tags: {},
    services,
  };
}

const WEB: MeshServiceSpec = { name: 'web', port: 8080, protocol: 'http', healthPath: '/healthz' };
const ECHO: MeshServiceSpec = { name: 'echo', port: 50051, protocol: 'grpc' };

function vm(index: number, overrides: Partial<Instance> = {}): Instance {
  return {
    name: `web_${index}`,
    instanceId: String(index),
    resourceId: `${SCALE_SET_ID}/virtualmachines/${index}`,
    privateIps: [`10.0.0.${10 + index}`],
    zone: '2',
    provisioningState: 'Succeeded',
    powerState: 'running',
    healthState: 'Healthy',
    ...overrides,
  };
}

describe('azureViewOf: Azure state → check status and drain flag', () => {
  const rows: Array<[string, Pick<Instance, 'provisioningState' | 'powerState' | 'healthState'>, 'passing' | 'critical', boolean]> = [
    ['running, provisioned, healthy', { provisioningState: 'Succeeded', powerState: 'running', healthState: 'Healthy' }, 'passing', false],
    ['running, provisioned, no health extension', { provisioningState: 'Succeeded', powerState: 'running' }, 'passing', false],
    ['updating while running', { provisioningState: 'Updating', powerState: 'running', healthState: 'Healthy' }, 'passing', false],
    ['updating while stopped', { provisioningState: 'Updating', powerState: 'stopped' }, 'critical', false],
    ['creating', { provisioningState: 'Creating', powerState: 'starting' }, 'critical', false],
    ['creating but already running', { provisioningState: 'Creating', powerState: 'running', healthState: 'Healthy' }, 'critical', false],
    ['failed provisioning while running', { provisioningState: 'Failed', powerState: 'running', healthState: 'Healthy' }, 'critical', false],
    ['stopped', { provisioningState: 'Succeeded', powerState: 'stopped' }, 'critical', false],
    ['deallocated', { provisioningState: 'Succeeded', powerState: 'deallocated' }, 'critical', false],
    ['power state unknown', { provisioningState: 'Succeeded', powerState: 'unknown', healthState: 'Healthy' }, 'critical', false],
    ['unhealthy', { provisioningState: 'Succeeded', powerState: 'running', healthState: 'Unhealthy' }, 'critical', false],
    ['health initializing', { provisioningState: 'Succeeded', powerState: 'running', healthState: 'Initializing' }, 'critical', false],
    ['health unknown', { provisioningState: 'Succeeded', powerState: 'running', healthState: 'Unknown' }, 'critical', false],
    ['deleting while running and healthy', { provisioningState: 'Deleting', powerState: 'running', healthState: 'Healthy' }, 'passing', true],
    ['deleting and unhealthy', { provisioningState: 'Deleting', powerState: 'running', healthState: 'Unhealthy' }, 'critical', true],
    ['deleting and deallocating', { provisioningState: 'Deleting', powerState: 'deallocating' }, 'critical', true],
    ['states in other letter case', { provisioningState: 'succeeded', powerState: 'Running' }, 'passing', false],
    ['deleting in lower case', { provisioningState: 'deleting', powerState: 'running' }, 'passing', true],
  ];
  for (const [name, state, status, draining] of rows) {
    test(`${name} → ${status}${draining ? ', draining' : ''}`, () => {
      const view = azureViewOf(state);
      assert.equal(view.status, status);
      assert.equal(view.draining, draining);
    });
  }

  test('the output is one short line naming the three states as ARM gave them', () => {
    assert.equal(azureViewOf({ provisioningState: 'Succeeded', powerState: 'running', healthState: 'Healthy' }).output, 'provisioning=Succeeded power=running health=Healthy');
    assert.equal(azureViewOf({ provisioningState: 'Deleting', powerState: 'deallocating' }).output, 'provisioning=Deleting power=deallocating health=none');
    assert.equal(azureViewOf({ provisioningState: '', powerState: ' ' }).output, 'provisioning=unknown power=unknown health=none');
  });

  test('an empty provisioning state is critical', () => {
    assert.equal(azureViewOf({ provisioningState: '', powerState: 'running' }).status, 'critical');
  });
});

describe('desiredNodes', () => {
  test('one node per instance named by nodeNameFor, addressed by its first private IP', () => {
    const instances = [vm(1, { privateIps: ['10.0.0.11', '10.0.1.11'] }), vm(2)];
    const { nodes, skipped } = desiredNodes(scaleSetWith([WEB]), instances);
    assert.deepEqual(skipped, []);
    assert.deepEqual(
      nodes.map((n) => [n.node, n.address, n.instanceResourceId]),
      instances.map((i) => [nodeNameFor(i.name, i.resourceId), i.privateIps[0], i.resourceId]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
  });

  test('node meta carries the ownership marks, the scale set, the instance and the zone', () => {
    const [node] = desiredNodes(scaleSetWith([WEB]), [vm(1)]).nodes;
    assert.deepEqual(node?.nodeMeta, {
      ...OWNED_NODE_META,
      [NODE_META.scaleSetId]: SCALE_SET_ID,
      [NODE_META.instanceId]: `${SCALE_SET_ID}/virtualmachines/1`,
      [NODE_META.zone]: '2',
    });
  });

  test('one service per mesh service with a deterministic id, our tag and the Azure meta', () => {
    const [node] = desiredNodes(scaleSetWith([WEB, ECHO]), [vm(3)]).nodes;
    assert.deepEqual(node?.services, [
      {
        id: 'web',
        name: 'web',
        port: 8080,
        tags: [SERVICE_TAG, 'http'],
        meta: {
          [SERVICE_META.scaleSetId]: SCALE_SET_ID,
          [SERVICE_META.instanceId]: `${SCALE_SET_ID}/virtualmachines/3`,
          [SERVICE_META.instanceName]: 'web_3',
          [SERVICE_META.protocol]: 'http',
          [SERVICE_META.zone]: '2',
          [SERVICE_META.healthPath]: '/healthz',
        },
      },
      {
        id: 'echo',
        name: 'echo',
        port: 50051,
        tags: [SERVICE_TAG, 'grpc'],
        meta: {
          [SERVICE_META.scaleSetId]: SCALE_SET_ID,
          [SERVICE_META.instanceId]: `${SCALE_SET_ID}/virtualmachines/3`,
          [SERVICE_META.instanceName]: 'web_3',
          [SERVICE_META.protocol]: 'grpc',
          [SERVICE_META.zone]: '2',
        },
      },
    ]);
  });

  test('a regional instance (no zone) has no zone meta at all rather than an empty one', () => {
    const [node] = desiredNodes(scaleSetWith([WEB]), [vm(1, { zone: undefined })]).nodes;
    assert.equal(NODE_META.zone in (node?.nodeMeta ?? {}), false);
    assert.equal(SERVICE_META.zone in (node?.services[0]?.meta ?? {}), false);
  });

  test('the check and drain flag come from the Azure view', () => {
    const { nodes } = desiredNodes(scaleSetWith([WEB]), [vm(1, { provisioningState: 'Deleting' }), vm(2, { healthState: 'Unhealthy' })]);
    const byResource = new Map(nodes.map((n) => [n.instanceResourceId, n]));
    assert.deepEqual(byResource.get(`${SCALE_SET_ID}/virtualmachines/1`)?.azureCheck, { status: 'passing', output: 'provisioning=Deleting power=running health=Healthy' });
    assert.equal(byResource.get(`${SCALE_SET_ID}/virtualmachines/1`)?.draining, true);
    assert.deepEqual(byResource.get(`${SCALE_SET_ID}/virtualmachines/2`)?.azureCheck, { status: 'critical', output: 'provisioning=Succeeded power=running health=Unhealthy' });
    assert.equal(byResource.get(`${SCALE_SET_ID}/virtualmachines/2`)?.draining, false);
  });

  test('an instance without a private IP is skipped with the no-private-ip reason', () => {
    const noIp = vm(4, { privateIps: [] });
    const { nodes, skipped } = desiredNodes(scaleSetWith([WEB]), [noIp, vm(5)]);
    assert.deepEqual(nodes.map((n) => n.instanceResourceId), [`${SCALE_SET_ID}/virtualmachines/5`]);
    assert.deepEqual(skipped, [{ node: nodeNameFor(noIp.name, noIp.resourceId), reason: 'no-private-ip: instance web_4 has no private IP address' }]);
  });

  test('a blank first IP counts as no private IP', () => {
    const { nodes, skipped } = desiredNodes(scaleSetWith([WEB]), [vm(4, { privateIps: ['  ', '10.0.0.4'] })]);
    assert.equal(nodes.length, 0);
    assert.equal(skipCode(skipped[0]!), SKIP.noPrivateIp);
  });

  test('a scale set naming no service gives no node and one scale-set-wide skip', () => {
    const { nodes, skipped } = desiredNodes(scaleSetWith([]), [vm(1), vm(2)]);
    assert.deepEqual(nodes, []);
    assert.deepEqual(skipped, [{ node: WHOLE_SCALE_SET, reason: `no-mesh-services: scale set ${SCALE_SET_ID} names no mesh service` }]);
  });

  test('a repeated service name is registered once (the first spec wins)', () => {
    const [node] = desiredNodes(scaleSetWith([WEB, { ...WEB, port: 9090 }]), [vm(1)]).nodes;
    assert.deepEqual(node?.services.map((s) => [s.id, s.port]), [['web', 8080]]);
  });

  test('an instance listed twice identically (overlapping pages) gives one node', () => {
    const { nodes, skipped } = desiredNodes(scaleSetWith([WEB]), [vm(1), vm(1), vm(2)]);
    assert.equal(nodes.length, 2);
    assert.deepEqual(skipped, []);
  });

  test('an instance listed twice with different content is skipped as conflicting, not guessed', () => {
    const { nodes, skipped } = desiredNodes(scaleSetWith([WEB]), [vm(1), vm(1, { powerState: 'stopped' }), vm(2)]);
    assert.deepEqual(nodes.map((n) => n.instanceResourceId), [`${SCALE_SET_ID}/virtualmachines/2`]);
    assert.deepEqual(skipped, [
      { node: nodeNameFor('web_1', `${SCALE_SET_ID}/virtualmachines/1`), reason: `conflicting-listing: the listing holds 2 differing entries for instance ${SCALE_SET_ID}/virtualmachines/1` },
    ]);
  });

  test('a repeat that lacks the private IP is a conflict too: no copy is preferred over another', () => {
    const { nodes, skipped } = desiredNodes(scaleSetWith([WEB]), [vm(1, { privateIps: [] }), vm(1)]);
    assert.deepEqual(nodes, []);
    assert.deepEqual(skipped.map(skipCode), [SKIP.conflictingListing]);
  });

  test('resource IDs are normalised to lower case', () => {
    const upper = vm(1, { resourceId: `${SCALE_SET_ID}/virtualMachines/1`.replace('resourcegroups', 'resourceGroups') });
    const [node] = desiredNodes(scaleSetWith([WEB]), [upper]).nodes;
    assert.equal(node?.instanceResourceId, `${SCALE_SET_ID}/virtualmachines/1`);
    assert.equal(node?.node, nodeNameFor('web_1', `${SCALE_SET_ID}/virtualmachines/1`));
  });

  test('the result does not depend on the order of the instances', () => {
    const instances = [vm(3), vm(1, { privateIps: [] }), vm(2), vm(7, { provisioningState: 'Deleting' })];
    assert.deepEqual(desiredNodes(scaleSetWith([WEB]), instances), desiredNodes(scaleSetWith([WEB]), [...instances].reverse()));
  });
});
