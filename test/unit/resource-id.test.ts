import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../../src/shared/errors';
import {
  computeTargetOf,
  isResourceGroupName,
  isSubscriptionId,
  parseResourceId,
  reconcileTargetKey,
  resourceGroupIdOf,
  scaleSetId,
  scaleSetRef,
  scaleSetRefFromId,
  virtualMachineId,
} from '../../src/shared/resource-id';
import type { ReconcileTarget } from '../../src/shared/model';

const SUB = '5f8a2c3d-9b1e-4a7f-8c6d-2e0b1a9c7d34';
const VMSS_LOWER = `/subscriptions/${SUB}/resourcegroups/rg-mesh/providers/microsoft.compute/virtualmachinescalesets/vmss-web`;

function rejects(input: unknown, message: string, path = ''): void {
  assert.throws(
    () => parseResourceId(input, path),
    (error: unknown) => {
      assert.ok(error instanceof InvalidInputError, `expected InvalidInputError, got ${String(error)}`);
      assert.equal(error.message, path ? `${path}: ${message}` : message);
      assert.equal(error.path, path);
      return true;
    },
  );
}

describe('parseResourceId', () => {
  test('normalises a scale set ID written in ARM casing', () => {
    const parsed = parseResourceId(`/subscriptions/${SUB.toUpperCase()}/resourceGroups/RG-Mesh/providers/Microsoft.Compute/virtualMachineScaleSets/VMSS-Web`);
    assert.deepEqual(parsed, {
      id: VMSS_LOWER,
      subscriptionId: SUB,
      resourceGroup: 'rg-mesh',
      providers: [{ namespace: 'microsoft.compute', types: ['virtualmachinescalesets'], names: ['vmss-web'] }],
    });
  });

  test('both spellings of resourceGroups and one trailing slash give the same ID', () => {
    const a = parseResourceId(`/subscriptions/${SUB}/resourcegroups/rg-mesh/providers/microsoft.compute/virtualmachinescalesets/vmss-web/`);
    const b = parseResourceId(`/subscriptions/${SUB}/resourceGroups/rg-mesh/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web`);
    assert.equal(a.id, VMSS_LOWER);
    assert.equal(b.id, VMSS_LOWER);
  });

  test('subscription, resource group, subscription-level and extension resources', () => {
    assert.deepEqual(parseResourceId(`/subscriptions/${SUB}`), { id: `/subscriptions/${SUB}`, subscriptionId: SUB, resourceGroup: undefined, providers: [] });
    assert.equal(parseResourceId(`/subscriptions/${SUB}/resourceGroups/RG_1.(a)`).resourceGroup, 'rg_1.(a)');
    const subLevel = parseResourceId(`/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/abc`);
    assert.equal(subLevel.resourceGroup, undefined);
    assert.deepEqual(subLevel.providers, [{ namespace: 'microsoft.authorization', types: ['roleassignments'], names: ['abc'] }]);
    const extension = parseResourceId(`${VMSS_LOWER}/providers/Microsoft.Insights/diagnosticSettings/to-workspace`);
    assert.deepEqual(
      extension.providers.map((p) => p.namespace),
      ['microsoft.compute', 'microsoft.insights'],
    );
  });

  test('names may contain spaces and underscores (some resource types allow them)', () => {
    const parsed = parseResourceId(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Insights/metricAlerts/High CPU on vmss_web`);
    assert.deepEqual(parsed.providers[0]?.names, ['high cpu on vmss_web']);
  });

  test('rejects what is not an ARM resource ID, naming the reason and the path', () => {
    rejects(42, 'expected a resource ID string, got number', '[0].data.resourceUri');
    rejects(null, 'expected a resource ID string, got null');
    rejects('', 'not an ARM resource ID (must start with /subscriptions/): ""');
    rejects('subscriptions/x', 'not an ARM resource ID (must start with /subscriptions/): "subscriptions/x"');
    rejects('/tenants/x', 'not an ARM resource ID (must start with /subscriptions/): "/tenants/x"');
    rejects('/subscriptions', 'not an ARM resource ID (missing subscription ID): "/subscriptions"');
    rejects(`/subscriptions//resourceGroups/rg`, 'not an ARM resource ID (empty segment at position 2): "/subscriptions//resourceGroups/rg"');
    rejects('/subscriptions/not a guid', 'not an ARM resource ID (invalid subscription ID "not a guid"): "/subscriptions/not a guid"');
    rejects(`/subscriptions/${SUB}/resourceGroups`, `not an ARM resource ID (missing resource group name): "/subscriptions/${SUB}/resourceGroups"`);
    rejects(`/subscriptions/${SUB}/resourceGroups/rg.`, `not an ARM resource ID (invalid resource group name "rg."): "/subscriptions/${SUB}/resourceGroups/rg."`);
    rejects(`/subscriptions/${SUB}/resourceGroups/rg/vms/x`, `not an ARM resource ID (expected "providers" at position 5, got "vms"): "/subscriptions/${SUB}/resourceGroups/rg/vms/x"`);
    rejects(`/subscriptions/${SUB}/resourceGroups/rg/providers/Compute/vms/x`, `not an ARM resource ID (invalid provider namespace "Compute"): "/subscriptions/${SUB}/resourceGroups/rg/providers/Compute/vms/x"`);
    rejects(
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets`,
      `not an ARM resource ID (resource type "virtualMachineScaleSets" has no name): "/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets"`,
    );
    rejects(
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute`,
      `not an ARM resource ID (provider "Microsoft.Compute" names no resource): "/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute"`,
    );
    rejects(
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a?b`,
      `not an ARM resource ID (invalid resource name "a?b"): "/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a?b"`,
    );
  });

  test('the error message shows at most 300 characters of a huge input', () => {
    const huge = `/x${'a'.repeat(5000)}`;
    assert.throws(() => parseResourceId(huge), {
      message: `not an ARM resource ID (longer than 2048 characters (5002)): ${JSON.stringify(`${huge.slice(0, 300)}… (5002 characters)`)}`,
    });
  });

  // Issue 9, D5: IDs ARM could never serve are invalid input, not something to send to ARM.
  test('refuses IDs and names beyond ARM\'s limits, with the limit in the reason', () => {
    const rg = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute`;
    const reason = (id: string) => {
      try {
        parseResourceId(id, 'data.resourceUri');
      } catch (error) {
        assert.ok(error instanceof InvalidInputError);
        assert.ok(error.message.length < 500, 'the message stays short');
        return /\(([^)]*\)?)\)/.exec(error.message)?.[1];
      }
      return 'accepted';
    };
    assert.equal(reason(`${rg}/virtualMachines/${'v'.repeat(5000)}`), 'longer than 2048 characters (5114)');
    assert.equal(reason(`${rg}/virtualMachineScaleSets/${'w'.repeat(65)}`), 'virtualmachinescalesets name longer than 64 characters (65)');
    assert.equal(reason(`${rg}/virtualMachineScaleSets/${'w'.repeat(64)}`), 'accepted');
    assert.equal(reason(`${rg}/virtualMachines/${'v'.repeat(65)}`), 'virtualmachines name longer than 64 characters (65)');
    assert.equal(reason(`${rg}/virtualMachines/${'v'.repeat(64)}`), 'accepted');
    assert.equal(reason(`/subscriptions/${SUB}/resourceGroups/${'r'.repeat(91)}`), `invalid resource group name "${'r'.repeat(91)}"`);
    assert.equal(reason(`/subscriptions/${SUB}/resourceGroups/${'r'.repeat(90)}`), 'accepted');
    assert.equal(reason(`/subscriptions/${SUB}0/resourceGroups/rg`), `invalid subscription ID "${SUB}0"`);
    assert.equal(reason(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/${'s'.repeat(261)}`), 'segment 8 is longer than 260 characters (261)');
    assert.equal(reason(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/${'s'.repeat(260)}`), 'accepted');
  });
});

describe('computeTargetOf and scaleSetRefFromId', () => {
  const ref = { subscriptionId: SUB, resourceGroup: 'rg-mesh', name: 'vmss-web', id: VMSS_LOWER };
  const upper = `/subscriptions/${SUB}/resourceGroups/RG-Mesh/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-Web`;

  test('a scale set and its children all name the same scale set', () => {
    for (const id of [upper, `${upper}/virtualMachines/3`, `${upper}/virtualMachines/3/networkInterfaces/nic0`, `${upper}/extensions/HealthExtension`]) {
      assert.deepEqual(scaleSetRefFromId(id), ref, id);
    }
  });

  test('a Uniform instance carries its instance ID and child type', () => {
    assert.deepEqual(computeTargetOf(parseResourceId(`${upper}/virtualMachines/3/networkInterfaces/nic0`)), {
      kind: 'scale-set',
      ref,
      instanceId: '3',
      childType: 'virtualmachines/networkinterfaces',
    });
    assert.deepEqual(computeTargetOf(parseResourceId(upper)), { kind: 'scale-set', ref, childType: '' });
  });

  test('a plain VM (Flexible mode) is recognised, children stripped', () => {
    const vm = `/subscriptions/${SUB}/resourceGroups/RG-Mesh/providers/Microsoft.Compute/virtualMachines/vmss-web_4F2A9C1E`;
    const expected = {
      kind: 'virtual-machine',
      subscriptionId: SUB,
      resourceGroup: 'rg-mesh',
      vmName: 'vmss-web_4f2a9c1e',
      vmId: `/subscriptions/${SUB}/resourcegroups/rg-mesh/providers/microsoft.compute/virtualmachines/vmss-web_4f2a9c1e`,
    };
    assert.deepEqual(computeTargetOf(parseResourceId(vm)), { ...expected, childType: '' });
    assert.deepEqual(computeTargetOf(parseResourceId(`${vm}/extensions/AppHealth`)), { ...expected, childType: 'extensions' });
    assert.throws(() => scaleSetRefFromId(vm, 'context.resourceId'), {
      name: 'InvalidInputError',
      message: `context.resourceId: ${expected.vmId} is a plain virtual machine (Flexible mode): its scale set is known only to ARM (virtualMachineScaleSet.id)`,
    });
  });

  test('other resources, extension resources and resource groups are not scale sets', () => {
    const cases = [
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st`,
      `${upper}/providers/Microsoft.Authorization/roleAssignments/ra1`,
      `/subscriptions/${SUB}/resourceGroups/rg`,
      `/subscriptions/${SUB}/providers/Microsoft.Compute/virtualMachineScaleSets/x`,
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/d1`,
    ];
    for (const id of cases) {
      assert.equal(computeTargetOf(parseResourceId(id)), undefined, id);
      assert.throws(() => scaleSetRefFromId(id), { name: 'InvalidInputError', message: `not a virtual machine scale set or a child of one: ${id.toLowerCase()}` });
    }
  });

  test('scaleSetRefFromId accepts an already parsed ID', () => {
    assert.deepEqual(scaleSetRefFromId(parseResourceId(upper)), ref);
  });
});

describe('builders', () => {
  test('scaleSetId and scaleSetRef normalise their parts', () => {
    assert.equal(scaleSetId(SUB.toUpperCase(), 'RG-Mesh', 'VMSS-Web'), VMSS_LOWER);
    assert.deepEqual(scaleSetRef(SUB, 'rg-mesh', 'vmss-web'), { subscriptionId: SUB, resourceGroup: 'rg-mesh', name: 'vmss-web', id: VMSS_LOWER });
    assert.equal(virtualMachineId(SUB, 'RG', 'VM_1'), `/subscriptions/${SUB}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm_1`);
  });

  test('parts that would change the shape of the ID are rejected', () => {
    assert.throws(() => scaleSetId(SUB, 'rg', 'web/virtualMachines/3'), { name: 'InvalidInputError', message: 'invalid name "web/virtualMachines/3": contains "/"' });
    assert.throws(() => scaleSetId(SUB, 'a/b', 'web'), { name: 'InvalidInputError', message: 'invalid resource group "a/b": contains "/"' });
    assert.throws(() => scaleSetId(SUB, 'rg', ''), {
      name: 'InvalidInputError',
      message: `not an ARM resource ID (resource type "virtualMachineScaleSets" has no name): "/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/"`,
    });
  });

  test('validators for flags and settings', () => {
    assert.equal(isSubscriptionId(SUB), true);
    assert.equal(isSubscriptionId('s1'), true);
    assert.equal(isSubscriptionId('not a sub'), false);
    assert.equal(isResourceGroupName('rg-mesh_(prod).1'), true);
    assert.equal(isResourceGroupName('rg.'), false);
    assert.equal(isResourceGroupName('a/b'), false);
    assert.equal(isResourceGroupName('x'.repeat(91)), false);
  });
});

describe('reconcile targets', () => {
  test('a scale set target is keyed by its normalised ID, however its parts were spelled', () => {
    const target: ReconcileTarget = { kind: 'scale-set', ref: scaleSetRef(SUB.toUpperCase(), 'RG-Web', 'Web') };
    assert.deepEqual(target.ref, scaleSetRef(SUB, 'rg-web', 'web'));
    assert.equal(reconcileTargetKey(target), `/subscriptions/${SUB}/resourcegroups/rg-web/providers/microsoft.compute/virtualmachinescalesets/web`);
  });

  test('a plain VM target (its scale set is for ARM to tell) is keyed by the VM ID', () => {
    const vmResourceId = virtualMachineId(SUB, 'RG-Web', 'Web_1');
    assert.equal(vmResourceId, `/subscriptions/${SUB}/resourcegroups/rg-web/providers/microsoft.compute/virtualmachines/web_1`);
    assert.equal(reconcileTargetKey({ kind: 'virtual-machine', vmResourceId, subscriptionId: SUB, resourceGroup: 'rg-web' }), vmResourceId);
  });

  test('a scale set name that is no ID segment is invalid input', () => {
    assert.throws(() => scaleSetRef(SUB, 'rg-web', 'web/virtualMachines/3'), InvalidInputError);
  });

  test('resourceGroupIdOf: the group of a reference, as computeTargetOf spells it', () => {
    const ref = scaleSetRef(SUB, 'RG-Web', 'web');
    assert.equal(resourceGroupIdOf(ref), `/subscriptions/${SUB}/resourcegroups/rg-web`);
    assert.ok(ref.id.startsWith(`${resourceGroupIdOf(ref)}/providers/`));
  });
});
