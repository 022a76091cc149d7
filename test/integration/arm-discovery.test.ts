/**
 * Which scale sets are in the mesh: discovery by subscription or resource group, every page,
 * invalid tags reported, single lookups with 404 handled, and ARM failures mapped to our errors.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, TransientError } from '../../src/shared/errors';
import { createArmClients, findScaleSetOfVm, getScaleSet, listMeshScaleSets, meshTagsFor } from '../../src/shared/azure';
import { scaleSetRef } from '../../src/shared/resource-id';
import { OTHER_SUBSCRIPTION, SUBSCRIPTION, TOKEN, WEB_TAGS, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';

describe('listMeshScaleSets', () => {
  test('finds every tagged scale set of the subscriptions across pages, reports invalid tags, ignores the rest', async (t) => {
    const { arm, clients } = await startArmFixture(t, { pageSize: 2 });
    const w = arm.world;
    w.createScaleSet(scaleSetInput({ name: 'web', resourceGroup: 'rg-a', capacity: 1 }));
    w.createScaleSet(scaleSetInput({ name: 'api', resourceGroup: 'rg-b', orchestrationMode: 'Flexible', tags: meshTagsFor([{ name: 'api', port: 9090, protocol: 'grpc' }]) }));
    w.createScaleSet(scaleSetInput({ name: 'batch', resourceGroup: 'rg-b', tags: { team: 'data' } }));
    w.createScaleSet(scaleSetInput({ name: 'typo', resourceGroup: 'rg-b', tags: { 'vmss-mesh-service': 'typo', 'vmss-mesh-port': '80a' } }));
    w.createScaleSet(scaleSetInput({ name: 'far', subscriptionId: OTHER_SUBSCRIPTION, resourceGroup: 'rg-c', tags: meshTagsFor([{ name: 'far', port: 80, protocol: 'tcp' }]) }));

    const listing = await listMeshScaleSets(clients, { subscriptions: [SUBSCRIPTION, OTHER_SUBSCRIPTION], resourceGroups: [] });

    assert.deepEqual(
      listing.scaleSets.map((s) => [s.ref.id, s.orchestrationMode, s.services]).sort(),
      [
        [`/subscriptions/${SUBSCRIPTION}/resourcegroups/rg-a/providers/microsoft.compute/virtualmachinescalesets/web`, 'Uniform', [{ name: 'web', port: 8080, protocol: 'http' }]],
        [`/subscriptions/${SUBSCRIPTION}/resourcegroups/rg-b/providers/microsoft.compute/virtualmachinescalesets/api`, 'Flexible', [{ name: 'api', port: 9090, protocol: 'grpc' }]],
        [`/subscriptions/${OTHER_SUBSCRIPTION}/resourcegroups/rg-c/providers/microsoft.compute/virtualmachinescalesets/far`, 'Uniform', [{ name: 'far', port: 80, protocol: 'tcp' }]],
      ].sort(),
    );
    assert.deepEqual(listing.skipped, [
      {
        id: `/subscriptions/${SUBSCRIPTION}/resourcegroups/rg-b/providers/microsoft.compute/virtualmachinescalesets/typo`,
        reason: 'invalid mesh tags: vmss-mesh-port: "80a" is not a port (a whole number from 1 to 65535)',
      },
    ]);
    assert.deepEqual(listing.warnings, []);
    // 4 scale sets in the first subscription at 2 per page = 2 pages (+1 for the second subscription).
    assert.deepEqual(arm.requests.countsByRoute(), { 'vmss.listAll': 3 });
  });

  test('with resource groups configured, lists those only and warns about a missing one', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    arm.world.createScaleSet(scaleSetInput({ name: 'web', resourceGroup: 'rg-a' }));
    arm.world.createScaleSet(scaleSetInput({ name: 'outside', resourceGroup: 'rg-z' }));

    const listing = await listMeshScaleSets(clients, { subscriptions: [SUBSCRIPTION], resourceGroups: ['rg-a', 'rg-gone'] });

    assert.deepEqual(listing.scaleSets.map((s) => s.ref.name), ['web']);
    assert.deepEqual(listing.warnings, [`listing scale sets of resource group rg-gone in subscription ${SUBSCRIPTION}: not found (404 ResourceGroupNotFound)`]);
    assert.deepEqual(arm.requests.countsByRoute(), { 'vmss.list': 2 });
  });

  test('an ARM outage fails the whole discovery with TransientError (no partial scope)', async (t) => {
    const { arm, clients } = await startArmFixture(t, { retry: { maxRetries: 0 } });
    arm.world.createScaleSet(scaleSetInput({ name: 'web' }));
    arm.faults.fail(1, { route: 'vmss.listAll', status: 503, code: 'ServiceUnavailable' });
    await assert.rejects(listMeshScaleSets(clients, { subscriptions: [], resourceGroups: [] }), (error: unknown) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.message, `ARM listing scale sets of subscription ${SUBSCRIPTION} failed (503 ServiceUnavailable)`);
      return true;
    });
  });
});

describe('getScaleSet', () => {
  test('in-mesh, left-mesh (untagged or invalid) and not-found, IDs in any casing', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const web = arm.world.createScaleSet(scaleSetInput({ name: 'Web', resourceGroup: 'RG-Mixed', capacity: 2 }));
    arm.world.createScaleSet(scaleSetInput({ name: 'plain', tags: {} }));
    arm.world.createScaleSet(scaleSetInput({ name: 'broken', tags: { 'vmss-mesh-port': '80' } }));

    const found = await getScaleSet(clients, scaleSetRef(SUBSCRIPTION, 'rg-mixed', 'web'));
    assert.equal(found.state, 'in-mesh');
    assert.deepEqual(found.state === 'in-mesh' ? { ...found.scaleSet } : undefined, {
      ref: scaleSetRef(SUBSCRIPTION, 'rg-mixed', 'web'),
      orchestrationMode: 'Uniform',
      capacity: 2,
      location: web.location,
      tags: { ...WEB_TAGS },
      services: [{ name: 'web', port: 8080, protocol: 'http' }],
    });
    assert.deepEqual(await getScaleSet(clients, scaleSetRef(SUBSCRIPTION, 'rg-mesh', 'plain')), {
      state: 'left-mesh',
      ref: scaleSetRef(SUBSCRIPTION, 'rg-mesh', 'plain'),
      reason: 'no vmss-mesh-* tags',
      errors: [],
    });
    assert.deepEqual(await getScaleSet(clients, scaleSetRef(SUBSCRIPTION, 'rg-mesh', 'broken')), {
      state: 'left-mesh',
      ref: scaleSetRef(SUBSCRIPTION, 'rg-mesh', 'broken'),
      reason: 'invalid mesh tags: vmss-mesh-port is set but vmss-mesh-service is missing',
      errors: ['vmss-mesh-port is set but vmss-mesh-service is missing'],
    });
    assert.deepEqual(await getScaleSet(clients, scaleSetRef(SUBSCRIPTION, 'rg-mesh', 'nope')), { state: 'not-found', ref: scaleSetRef(SUBSCRIPTION, 'rg-mesh', 'nope') });
    assert.deepEqual(await getScaleSet(clients, scaleSetRef(SUBSCRIPTION, 'no-such-rg', 'web')), { state: 'not-found', ref: scaleSetRef(SUBSCRIPTION, 'no-such-rg', 'web') });
  });

  test('a wrong token is a TransientError, a 403 a ConfigError naming the fix', async (t) => {
    const { arm } = await startArmFixture(t);
    arm.world.createScaleSet(scaleSetInput({ name: 'web' }));
    const ref = scaleSetRef(SUBSCRIPTION, 'rg-mesh', 'web');
    const wrongToken = createArmClients({ endpoint: arm.url, staticToken: 'not-the-token', subscriptionId: SUBSCRIPTION }, { caPem: arm.caPem });
    await assert.rejects(getScaleSet(wrongToken, ref), (error: unknown) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.message, `ARM reading scale set web (resource group rg-mesh, subscription ${SUBSCRIPTION}) failed (401 AuthenticationFailed): Authentication failed. The access token is invalid.`);
      return true;
    });

    const rightToken = createArmClients({ endpoint: arm.url, staticToken: TOKEN, subscriptionId: SUBSCRIPTION }, { caPem: arm.caPem });
    arm.faults.fail(1, { route: 'vmss.get', status: 403, code: 'AuthorizationFailed', message: 'The client does not have authorization to perform action.' });
    await assert.rejects(getScaleSet(rightToken, ref), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(
        error.message,
        `ARM denied reading scale set web (resource group rg-mesh, subscription ${SUBSCRIPTION}) (403 AuthorizationFailed): The client does not have authorization to perform action. — grant the app's identity Reader on the configured scope`,
      );
      return true;
    });
  });

  test('an untrusted certificate is a TransientError, not a silent success', async (t) => {
    const { arm } = await startArmFixture(t);
    const untrusting = createArmClients({ endpoint: arm.url, staticToken: TOKEN, subscriptionId: SUBSCRIPTION }, { retry: { maxRetries: 0 } });
    await assert.rejects(getScaleSet(untrusting, scaleSetRef(SUBSCRIPTION, 'rg-mesh', 'web')), (error: unknown) => {
      assert.ok(error instanceof TransientError);
      assert.match(error.message, /^ARM reading scale set web \(resource group rg-mesh, subscription \S+\) failed before a response \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/);
      return true;
    });
    assert.equal(arm.requests.entries.length, 0);
  });
});

describe('findScaleSetOfVm', () => {
  test('resolves a Flexible VM to its scale set; a missing VM is not-found', async (t) => {
    const { arm, clients } = await startArmFixture(t);
    const flex = arm.world.createScaleSet(scaleSetInput({ name: 'Flex', orchestrationMode: 'Flexible', capacity: 1 }));
    const [vm] = arm.world.listInstances(flex.id);
    assert.ok(vm);
    assert.deepEqual(await findScaleSetOfVm(clients, { subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-mesh', vmName: vm.name.toLowerCase() }), {
      state: 'in-scale-set',
      ref: scaleSetRef(SUBSCRIPTION, 'rg-mesh', 'flex'),
    });
    assert.deepEqual(await findScaleSetOfVm(clients, { subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-mesh', vmName: 'nope' }), { state: 'not-found' });
  });
});
