import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decideOperation, HINTING_OPERATIONS } from '../../src/shared/events';

describe('which operations hint (operation-policy.ts)', () => {
  test('scale set create/update/delete and its instance actions hint', () => {
    for (const op of [
      'Microsoft.Compute/virtualMachineScaleSets/write',
      'Microsoft.Compute/virtualMachineScaleSets/delete',
      'Microsoft.Compute/virtualMachineScaleSets/delete/action',
      'Microsoft.Compute/virtualMachineScaleSets/scale/action',
      'Microsoft.Compute/virtualMachineScaleSets/start/action',
      'Microsoft.Compute/virtualMachineScaleSets/powerOff/action',
      'Microsoft.Compute/virtualMachineScaleSets/restart/action',
      'Microsoft.Compute/virtualMachineScaleSets/deallocate/action',
      'Microsoft.Compute/virtualMachineScaleSets/reimage/action',
      'Microsoft.Compute/virtualMachineScaleSets/reimageAll/action',
      'Microsoft.Compute/virtualMachineScaleSets/redeploy/action',
      'Microsoft.Compute/virtualMachineScaleSets/manualUpgrade/action',
      'Microsoft.Compute/virtualMachineScaleSets/extensions/write',
      'Microsoft.Compute/virtualMachineScaleSets/extensions/delete',
    ]) {
      assert.equal(decideOperation(op), 'hint', op);
    }
  });

  test('Uniform instance and Flexible VM operations hint', () => {
    for (const op of [
      'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write',
      'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/delete',
      'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action',
      'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/simulateEviction/action',
      'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/extensions/write',
      'Microsoft.Compute/virtualMachines/write',
      'Microsoft.Compute/virtualMachines/delete',
      'Microsoft.Compute/virtualMachines/deallocate/action',
      'Microsoft.Compute/virtualMachines/extensions/delete',
    ]) {
      assert.equal(decideOperation(op), 'hint', op);
    }
  });

  test('operation names are matched case-insensitively', () => {
    assert.equal(decideOperation('microsoft.compute/virtualmachinescalesets/virtualmachines/poweroff/action'), 'hint');
    assert.equal(decideOperation('MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/WRITE'), 'hint');
  });

  test('actions that only read are read-only-operation', () => {
    for (const op of [
      'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/retrieveBootDiagnosticsData/action',
      'Microsoft.Storage/storageAccounts/listKeys/action',
      'Microsoft.Compute/virtualMachines/assessPatches/action',
      'Microsoft.Compute/virtualMachineScaleSets/getRollingUpgradeStatus/action',
    ]) {
      assert.equal(decideOperation(op), 'read-only-operation', op);
    }
  });

  test('everything else changes no instance', () => {
    for (const op of [
      'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action',
      'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommands/write',
      'Microsoft.Compute/virtualMachineScaleSets/setOrchestrationServiceState/action',
      'Microsoft.Compute/virtualMachines/capture/action',
      'Microsoft.Compute/disks/write',
      'Microsoft.Network/networkInterfaces/write',
      'Microsoft.Compute/virtualMachineScaleSets',
      'Microsoft.Compute/constructor/write',
      'Microsoft.Compute/__proto__/delete',
      '',
    ]) {
      assert.equal(decideOperation(op), 'no-instance-change', op);
    }
  });
});

describe('the policy README stays in step with the table', () => {
  test('every hinting type and verb is listed in src/shared/events/README.md', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'src', 'shared', 'events', 'README.md'), 'utf8').toLowerCase();
    const rows = readme.split('\n').filter((line) => line.startsWith('| `'));
    for (const [typePath, verbs] of Object.entries(HINTING_OPERATIONS)) {
      const row = rows.find((line) => (line.split('|')[1] ?? '').includes(`\`${typePath}\``));
      assert.ok(row, `README row for ${typePath}`);
      for (const verb of verbs) {
        assert.ok(row.includes(`\`${verb.replace('/action', '')}\``), `README lists ${typePath} ${verb}`);
      }
    }
  });
});
