/**
 * The ARM emulator on the wire (raw HTTPS, no SDK): authentication, api-version, error bodies,
 * case-insensitive paths, paging, rate-limit headers, injected faults, operation records.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startArmEmulator } from '../../src/sandbox/arm-emulator';
import type { ArmOperationRecord } from '../../src/sandbox/arm-emulator';
import { SUBSCRIPTION, WEB_TAGS, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';
import { armRequest, vmssPath } from '../helpers/arm-http';

const errorOf = (body: unknown): unknown => (body as { error?: unknown } | undefined)?.error;

describe('ARM emulator: requests it refuses', () => {
  test('401 AuthenticationFailed without a bearer token, or with the wrong one when a token is configured', async (t) => {
    const { arm } = await startArmFixture(t);
    const missing = await armRequest(arm, 'GET', vmssPath(SUBSCRIPTION, 'rg'), { token: null });
    assert.equal(missing.status, 401);
    assert.deepEqual(errorOf(missing.body), { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing." });
    assert.match(String(missing.headers['www-authenticate']), /^Bearer authorization_uri="[^"]+", error="invalid_token"/);
    const wrong = await armRequest(arm, 'GET', vmssPath(SUBSCRIPTION, 'rg'), { token: 'nope' });
    assert.deepEqual([wrong.status, errorOf(wrong.body)], [401, { code: 'AuthenticationFailed', message: 'Authentication failed. The access token is invalid.' }]);
  });

  test('any non-empty token is accepted when none is configured', async (t) => {
    const arm = await startArmEmulator();
    t.after(() => arm.close());
    arm.world.createResourceGroup(SUBSCRIPTION, 'rg');
    const response = await armRequest(arm, 'GET', vmssPath(SUBSCRIPTION, 'rg'), { token: 'anything' });
    assert.deepEqual([response.status, response.body], [200, { value: [] }]);
  });

  test('400 MissingApiVersionParameter without api-version', async (t) => {
    const { arm } = await startArmFixture(t);
    const response = await armRequest(arm, 'GET', vmssPath(SUBSCRIPTION, 'rg'), { apiVersion: null });
    assert.deepEqual([response.status, errorOf(response.body)], [
      400,
      { code: 'MissingApiVersionParameter', message: 'The api-version query parameter (?api-version=) is required for all requests.' },
    ]);
  });

  test('404 bodies name what is missing: subscription, resource group, scale set, instance', async (t) => {
    const { arm } = await startArmFixture(t);
    arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 1 }));
    const cases: Array<[string, { code: string; message: string }]> = [
      [vmssPath('00000000-0000-4000-8000-0000000000ff', 'rg-mesh', 'web'), { code: 'SubscriptionNotFound', message: "The subscription '00000000-0000-4000-8000-0000000000ff' could not be found." }],
      [vmssPath(SUBSCRIPTION, 'rg-other', 'web'), { code: 'ResourceGroupNotFound', message: "Resource group 'rg-other' could not be found." }],
      [
        vmssPath(SUBSCRIPTION, 'rg-mesh', 'api'),
        { code: 'ResourceNotFound', message: "The Resource 'Microsoft.Compute/virtualMachineScaleSets/api' under resource group 'rg-mesh' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix" },
      ],
      [`${vmssPath(SUBSCRIPTION, 'rg-mesh', 'web')}/virtualMachines/7`, { code: 'NotFound', message: "The entity was not found in this resource group: instance '7' of 'web'." }],
    ];
    for (const [path, expected] of cases) {
      const response = await armRequest(arm, 'GET', path);
      assert.deepEqual([response.status, errorOf(response.body)], [404, expected], path);
    }
  });

  test('request bodies are validated like ARM does', async (t) => {
    const { arm } = await startArmFixture(t);
    arm.world.createResourceGroup(SUBSCRIPTION, 'rg');
    const noLocation = await armRequest(arm, 'PUT', vmssPath(SUBSCRIPTION, 'rg', 'web'), { body: { sku: { capacity: 1 } } });
    assert.deepEqual([noLocation.status, errorOf(noLocation.body)], [
      400,
      { code: 'InvalidRequestContent', message: 'The request content was invalid and could not be deserialized: location: Invalid input: expected string, received undefined' },
    ]);
    const notJson = await armRequest(arm, 'PUT', vmssPath(SUBSCRIPTION, 'rg', 'web'), { rawBody: '{' });
    assert.deepEqual([notJson.status, errorOf(notJson.body)], [400, { code: 'InvalidRequestContent', message: 'The request content was invalid and could not be deserialized: not JSON.' }]);
  });

  test('Flexible scale sets refuse the Uniform-only VM and NIC listings; instanceView needs a filter', async (t) => {
    const { arm } = await startArmFixture(t);
    arm.world.createScaleSet(scaleSetInput({ name: 'flex', orchestrationMode: 'Flexible', capacity: 1 }));
    const vms = await armRequest(arm, 'GET', `${vmssPath(SUBSCRIPTION, 'rg-mesh', 'flex')}/virtualMachines`);
    assert.deepEqual([vms.status, (errorOf(vms.body) as { code: string }).code], [409, 'OperationNotAllowed']);
    const nics = await armRequest(arm, 'GET', `${vmssPath(SUBSCRIPTION, 'rg-mesh', 'flex')}/networkInterfaces`);
    assert.deepEqual([nics.status, (errorOf(nics.body) as { code: string }).code], [409, 'OperationNotAllowed']);
    const unfiltered = await armRequest(arm, 'GET', `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-mesh/providers/Microsoft.Compute/virtualMachines?$expand=instanceView`);
    assert.deepEqual([unfiltered.status, errorOf(unfiltered.body)], [
      400,
      { code: 'InvalidParameter', message: "The $expand option 'instanceView' can only be specified together with a valid $filter option." },
    ]);
  });
});

describe('ARM emulator: reads', () => {
  test('resource IDs are case-insensitive', async (t) => {
    const { arm } = await startArmFixture(t);
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'Web', resourceGroup: 'RG-Mesh', capacity: 1 }));
    const response = await armRequest(arm, 'GET', `/SUBSCRIPTIONS/${SUBSCRIPTION}/resourcegroups/rg-mesh/providers/microsoft.compute/VIRTUALMACHINESCALESETS/web`);
    assert.equal(response.status, 200);
    assert.equal((response.body as { id: string }).id, ss.id);
    assert.equal(arm.requests.entries[0]?.route, 'vmss.get');
  });

  test('lists page by nextLink until every item was served exactly once', async (t) => {
    const { arm } = await startArmFixture(t, { pageSize: 2 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) arm.world.createScaleSet(scaleSetInput({ name, tags: WEB_TAGS }));
    const names: string[] = [];
    let next: string | undefined = `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Compute/virtualMachineScaleSets`;
    const links: string[] = [];
    while (next !== undefined) {
      const response = await armRequest(arm, 'GET', next);
      assert.equal(response.status, 200);
      const body = response.body as { value: Array<{ name: string }>; nextLink?: string };
      names.push(...body.value.map((v) => v.name));
      next = body.nextLink;
      if (next !== undefined) links.push(next);
    }
    assert.deepEqual(names, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(links.length, 2);
    for (const link of links) {
      assert.ok(link.startsWith(`${arm.url}/subscriptions/`), link);
      assert.match(link, /[?&]api-version=2026-04-01(&|$)/);
      assert.match(link, /[?&]%24skiptoken=/);
    }
    const invalid = await armRequest(arm, 'GET', `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Compute/virtualMachineScaleSets?$skiptoken=garbage`);
    assert.deepEqual([invalid.status, (errorOf(invalid.body) as { code: string }).code], [400, 'InvalidSkipToken']);
  });

  test('a listing read again after the world changed serves the change (pages of one listing share one sort until then)', async (t) => {
    const { arm } = await startArmFixture(t, { pageSize: 2 });
    const flex = arm.world.createScaleSet(scaleSetInput({ name: 'flex', orchestrationMode: 'Flexible', capacity: 3 }));
    const listAll = async (): Promise<string[]> => {
      const names: string[] = [];
      let next: string | undefined = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-mesh/providers/Microsoft.Network/networkInterfaces`;
      while (next !== undefined) {
        const body = (await armRequest(arm, 'GET', next)).body as { value: Array<{ name: string }>; nextLink?: string };
        names.push(...body.value.map((v) => v.name));
        next = body.nextLink;
      }
      return names;
    };
    const nicNames = () => arm.world.listInstances(flex.id).flatMap((i) => i.nics.map((n) => n.name)).sort();
    assert.deepEqual([...(await listAll())].sort(), nicNames());
    arm.world.scale(flex.id, 5);
    assert.equal(nicNames().length, 5);
    assert.deepEqual([...(await listAll())].sort(), nicNames());
    const [gone] = arm.world.listInstances(flex.id);
    arm.world.deleteVm(flex.id, gone!.instanceId);
    await arm.world.settled();
    assert.deepEqual([...(await listAll())].sort(), nicNames());
    assert.equal(nicNames().length, 4);
  });

  test('a page boundary is stable when items disappear between pages', async (t) => {
    const { arm } = await startArmFixture(t, { pageSize: 2 });
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 5 }));
    const first = await armRequest(arm, 'GET', `${vmssPath(SUBSCRIPTION, 'rg-mesh', 'web')}/virtualMachines`);
    const firstPage = first.body as { value: Array<{ instanceId: string }>; nextLink: string };
    arm.world.deleteInstances(ss.id, ['0']); // already served: must not shift the next page
    const second = await armRequest(arm, 'GET', firstPage.nextLink);
    assert.deepEqual(firstPage.value.map((v) => v.instanceId), ['0', '1']);
    assert.deepEqual((second.body as { value: Array<{ instanceId: string }> }).value.map((v) => v.instanceId), ['2', '3']);
  });

  test('reports the remaining reads and writes, and throttles with Retry-After when the bucket is empty', async (t) => {
    const { arm } = await startArmFixture(t, { rateLimits: { reads: { capacity: 3, refillPerSecond: 0.1 } } });
    arm.world.createScaleSet(scaleSetInput({ name: 'web' }));
    const path = vmssPath(SUBSCRIPTION, 'rg-mesh', 'web');
    const remaining: unknown[] = [];
    for (let i = 0; i < 3; i += 1) remaining.push((await armRequest(arm, 'GET', path)).headers['x-ms-ratelimit-remaining-subscription-reads']);
    assert.deepEqual(remaining, ['2', '1', '0']);
    const throttled = await armRequest(arm, 'GET', path);
    assert.equal(throttled.status, 429);
    // One token takes 10 s at 0.1 per second, minus what trickled in since the bucket was full.
    const retryAfter = Number(throttled.headers['retry-after']);
    assert.ok(retryAfter >= 9 && retryAfter <= 10, `Retry-After ${retryAfter}`);
    assert.equal((errorOf(throttled.body) as { code: string }).code, 'TooManyRequests');
    const write = await armRequest(arm, 'PATCH', path, { body: { tags: WEB_TAGS } });
    assert.deepEqual([write.status, write.headers['x-ms-ratelimit-remaining-subscription-writes']], [200, '199']);
  });

  test('injected throttling answers the next N matching requests with 429 and Retry-After', async (t) => {
    const { arm } = await startArmFixture(t);
    arm.world.createScaleSet(scaleSetInput({ name: 'web' }));
    arm.faults.throttle(2, { route: 'vmss.get', retryAfterSeconds: 7 });
    const statuses: Array<[number, unknown]> = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await armRequest(arm, 'GET', vmssPath(SUBSCRIPTION, 'rg-mesh', 'web'));
      statuses.push([response.status, response.headers['retry-after']]);
    }
    assert.deepEqual(statuses, [[429, '7'], [429, '7'], [200, undefined]]);
    assert.equal(arm.requests.count({ route: 'vmss.get' }), 3);
    assert.equal(arm.requests.filter({ route: 'vmss.get' }).filter((r) => r.throttled).length, 2);
    assert.equal(arm.faults.pending, 0);
  });
});

describe('ARM emulator: request log', () => {
  test('keeps the newest requestLogLimit entries, numbered from the start', async (t) => {
    const { arm } = await startArmFixture(t, { requestLogLimit: 2 });
    arm.world.createResourceGroup(SUBSCRIPTION, 'rg');
    for (let i = 0; i < 3; i += 1) await armRequest(arm, 'GET', vmssPath(SUBSCRIPTION, 'rg'));
    assert.deepEqual(arm.requests.entries.map((r) => [r.sequence, r.route, r.status]), [[2, 'vmss.list', 200], [3, 'vmss.list', 200]]);
    assert.deepEqual(arm.requests.countsByPath(), { [`GET ${vmssPath(SUBSCRIPTION, 'rg').toLowerCase()}`]: 2 });
    arm.requests.clear();
    assert.equal(arm.requests.count(), 0);
  });
});

describe('ARM emulator: writes', () => {
  test('PUT creates, PATCH scales, POST …/delete and DELETE remove, each recorded as Event Grid would carry it', async (t) => {
    const seen: ArmOperationRecord[] = [];
    const { arm } = await startArmFixture(t, { onOperation: (op) => seen.push(op) });
    arm.world.createResourceGroup(SUBSCRIPTION, 'rg');
    const path = vmssPath(SUBSCRIPTION, 'rg', 'web');

    const created = await armRequest(arm, 'PUT', path, { body: { location: 'northeurope', sku: { name: 'Standard_B2s', capacity: 2 }, tags: WEB_TAGS, properties: { orchestrationMode: 'Uniform' } } });
    assert.equal(created.status, 201);
    assert.deepEqual((created.body as { sku: unknown }).sku, { name: 'Standard_B2s', tier: 'Standard', capacity: 2 });
    const scaled = await armRequest(arm, 'PATCH', path.toLowerCase(), { body: { sku: { capacity: 4 } } });
    assert.deepEqual([scaled.status, (scaled.body as { sku: { capacity: number } }).sku.capacity], [200, 4]);
    const removed = await armRequest(arm, 'POST', `${path}/delete`, { body: { instanceIds: ['1', '3'] } });
    assert.equal(removed.status, 200);
    assert.deepEqual(arm.world.listInstances(path).map((i) => i.instanceId), ['0', '2']);
    assert.equal((await armRequest(arm, 'DELETE', `${path}/virtualMachines/2`)).status, 200);
    assert.equal((await armRequest(arm, 'DELETE', path)).status, 200);
    assert.equal((await armRequest(arm, 'DELETE', path)).status, 204);
    assert.equal(arm.world.getScaleSet(path), undefined);

    assert.deepEqual(
      seen.map((op) => [op.operationName, op.httpMethod, op.resourceUri, op.origin, op.status]),
      [
        ['Microsoft.Compute/virtualMachineScaleSets/write', 'PUT', path, 'rest', 'Succeeded'],
        ['Microsoft.Compute/virtualMachineScaleSets/write', 'PATCH', path.toLowerCase(), 'rest', 'Succeeded'],
        ['Microsoft.Compute/virtualMachineScaleSets/delete/action', 'POST', path, 'rest', 'Succeeded'],
        ['Microsoft.Compute/virtualMachineScaleSets/virtualMachines/delete', 'DELETE', `${path}/virtualMachines/2`, 'rest', 'Succeeded'],
        ['Microsoft.Compute/virtualMachineScaleSets/delete', 'DELETE', path, 'rest', 'Succeeded'],
      ],
    );
    assert.deepEqual(seen, arm.world.operations);
    for (const op of seen) {
      assert.equal(op.subscriptionId, SUBSCRIPTION);
      assert.equal(op.resourceGroup, 'rg');
      assert.equal(op.resourceProvider, 'Microsoft.Compute');
      assert.ok(!Number.isNaN(Date.parse(op.eventTime)));
      assert.match(op.correlationId, /^[0-9a-f-]{36}$/);
      assert.ok(op.httpUrl?.startsWith(`${arm.url}/subscriptions/`));
    }
  });

  test('deleting a Flexible VM is a Microsoft.Compute/virtualMachines/delete on the VM', async (t) => {
    const { arm } = await startArmFixture(t);
    const flex = arm.world.createScaleSet(scaleSetInput({ name: 'flex', orchestrationMode: 'Flexible', capacity: 2 }));
    const [vm] = arm.world.listInstances(flex.id);
    assert.ok(vm);
    const response = await armRequest(arm, 'DELETE', vm.id);
    assert.equal(response.status, 200);
    const last = arm.world.operations[arm.world.operations.length - 1];
    assert.deepEqual([last?.operationName, last?.resourceUri], ['Microsoft.Compute/virtualMachines/delete', vm.id]);
    assert.equal(arm.world.getScaleSet(flex.id)?.capacity, 1);
  });

  test('deleting unknown instances is a 400 and changes nothing', async (t) => {
    const { arm } = await startArmFixture(t);
    const ss = arm.world.createScaleSet(scaleSetInput({ name: 'web', capacity: 2 }));
    const before = arm.world.operations.length;
    const response = await armRequest(arm, 'POST', `${ss.id}/delete`, { body: { instanceIds: ['1', '9'] } });
    assert.deepEqual([response.status, errorOf(response.body)], [400, { code: 'InvalidParameter', message: 'Instance id 9 is not an instance of scale set web.' }]);
    assert.equal(arm.world.getScaleSet(ss.id)?.capacity, 2);
    assert.equal(arm.world.operations.length, before);
  });
});
