import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  groupDeliveryHints,
  hintKey,
  ignoredEventLogRecord,
  summariseOutcomes,
  type EventOutcome,
  type IgnoredOutcome,
} from '../../src/shared/events';
import type { ReconcileHint, ReconcileTarget } from '../../src/shared/model';
import { scaleSetRef } from '../../src/shared/resource-id';

const SUB = '5f8a2c3d-9b1e-4a7f-8c6d-2e0b1a9c7d34';
const setId = (rg: string, name: string) => `/subscriptions/${SUB}/resourcegroups/${rg}/providers/microsoft.compute/virtualmachinescalesets/${name}`;
const onSet = (resourceGroup: string, name: string): ReconcileTarget => ({ kind: 'scale-set', ref: scaleSetRef(SUB, resourceGroup, name) });
const hint = (eventId: string, over: Partial<ReconcileHint> = {}): ReconcileHint => ({
  target: onSet('rg', 'web'),
  reason: 'event:Microsoft.Compute/virtualMachineScaleSets/write',
  eventTime: '2024-05-01T10:00:00Z',
  eventId,
  ...over,
});
const vmId = `/subscriptions/${SUB}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/web_1`;
const onVm: ReconcileTarget = { kind: 'virtual-machine', vmResourceId: vmId, subscriptionId: SUB, resourceGroup: 'rg' };

describe('hintKey', () => {
  test('a scale set hint is keyed by the normalised scale set ID', () => {
    assert.deepEqual(hint('a', { target: onSet('RG', 'Web') }).target, {
      kind: 'scale-set',
      ref: { subscriptionId: SUB, resourceGroup: 'rg', name: 'web', id: setId('rg', 'web') },
    });
    assert.equal(hintKey(hint('a', { target: onSet('RG', 'Web') })), setId('rg', 'web'));
    assert.equal(hintKey(hint('a')), setId('rg', 'web'));
  });

  test('a Flexible VM hint is keyed by the VM until ARM resolves its scale set', () => {
    assert.equal(hintKey(hint('f', { target: onVm, instanceId: 'web_1' })), vmId);
  });
});

describe('groupDeliveryHints', () => {
  test('one group per scale set, in order of first appearance, keeping every event ID once and the distinct instance IDs', () => {
    const groups = groupDeliveryHints([
      hint('a', { eventTime: '2024-05-01T10:00:05Z' }),
      hint('b', { instanceId: '3', reason: 'event:Microsoft.Compute/virtualMachineScaleSets/virtualMachines/delete', eventTime: '2024-05-01T10:00:09.1234567Z' }),
      hint('c', { target: onSet('rg', 'api') }),
      hint('a', { eventTime: '2024-05-01T10:00:05Z' }),
      hint('d', { instanceId: '4', eventTime: '2024-05-01T10:00:01Z' }),
    ]);
    assert.deepEqual(
      groups.map((g) => [g.key, g.target, g.eventIds, g.instanceIds]),
      [
        [setId('rg', 'web'), onSet('rg', 'web'), ['a', 'b', 'd'], ['3', '4']],
        [setId('rg', 'api'), onSet('rg', 'api'), ['c'], []],
      ],
    );
  });

  test('an instance named twice is listed once; a set-level hint adds no instance', () => {
    const [only] = groupDeliveryHints([hint('x', { instanceId: '7' }), hint('y', { instanceId: '7' }), hint('z')]);
    assert.deepEqual(only?.instanceIds, ['7']);
    assert.deepEqual(only?.eventIds, ['x', 'y', 'z']);
  });

  test('case variants of one scale set merge; Flexible VMs stay apart from scale sets', () => {
    const groups = groupDeliveryHints([hint('a', { target: onSet('RG', 'WEB') }), hint('b'), hint('f', { target: onVm, instanceId: 'web_1' })]);
    assert.deepEqual(
      groups.map((g) => [g.key, g.target.kind, g.eventIds]),
      [
        [setId('rg', 'web'), 'scale-set', ['a', 'b']],
        [vmId, 'virtual-machine', ['f']],
      ],
    );
  });

  test('nothing in, nothing out', () => {
    assert.deepEqual(groupDeliveryHints([]), []);
  });
});

describe('summaries for logs', () => {
  const ignored: IgnoredOutcome = {
    kind: 'ignored',
    eventId: 'e9',
    reason: 'not-vmss',
    detail: 'Microsoft.Storage/storageAccounts/write on /subscriptions/s/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st',
    eventType: 'Microsoft.Resources.ResourceWriteSuccess',
    operationName: 'Microsoft.Storage/storageAccounts/write',
    resourceUri: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st',
  };

  test('one structured record per ignored event', () => {
    assert.deepEqual(ignoredEventLogRecord(ignored), {
      msg: 'ignored event e9: not-vmss',
      event: 'event-ignored',
      eventId: 'e9',
      reason: 'not-vmss',
      detail: ignored.detail,
      eventType: 'Microsoft.Resources.ResourceWriteSuccess',
      operationName: 'Microsoft.Storage/storageAccounts/write',
      resourceUri: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st',
    });
    const bare = ignoredEventLogRecord({ kind: 'ignored', eventId: 'e1', reason: 'unsupported-event-type', detail: 'd' });
    assert.deepEqual(Object.keys(bare), ['msg', 'event', 'eventId', 'reason', 'detail'], 'absent context stays absent');
  });

  test('counts per delivery', () => {
    const outcomes: EventOutcome[] = [
      { kind: 'hint', hint: hint('a') },
      ignored,
      { ...ignored, eventId: 'e10' },
      { ...ignored, reason: 'failed-operation' },
      { kind: 'validation', eventId: 'v', validationCode: 'c' },
    ];
    assert.deepEqual(summariseOutcomes(outcomes), { events: 5, hints: 1, validations: 1, ignored: { 'not-vmss': 2, 'failed-operation': 1 } });
  });
});
