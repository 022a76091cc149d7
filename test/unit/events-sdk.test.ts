/**
 * The parser's event types and data fields are @azure/eventgrid's (tied at compile time in
 * sdk-event-types.ts); here: every one of the nine resource event types is recognised in any
 * case and nothing else is, and the SDK's envelope check (sdk-envelope.ts, used by deadletter
 * replay) takes complete envelopes of both schemas and names what is wrong with the others.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyEvent, type EventOutcome } from '../../src/shared/events';
import { envelopeProblem } from '../../src/shared/events/sdk-envelope';
import { RESOURCE_EVENT_RESULTS } from '../../src/shared/events/sdk-event-types';

const ALL = { scope: { subscriptions: [], resourceGroups: [] } };
const VMSS = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web';

function eventGridEvent(eventType: string): Record<string, unknown> {
  return {
    id: 'e-1',
    topic: '/subscriptions/00000000-0000-0000-0000-000000000001',
    subject: VMSS,
    eventType,
    eventTime: '2025-06-01T12:00:00.0000000Z',
    data: { resourceUri: VMSS, operationName: 'Microsoft.Compute/virtualMachineScaleSets/write', status: 'Succeeded' },
    dataVersion: '2',
    metadataVersion: '1',
  };
}

function described(outcome: EventOutcome): string {
  return outcome.kind === 'ignored' ? `ignored:${outcome.reason}` : outcome.kind;
}

describe('resource event types (the SDK names)', () => {
  test('all nine are recognised, in any case, with their result', () => {
    const expected = { success: 'hint', failure: 'ignored:failed-operation', cancel: 'ignored:canceled-operation' } as const;
    assert.equal(Object.keys(RESOURCE_EVENT_RESULTS).length, 9);
    for (const [type, result] of Object.entries(RESOURCE_EVENT_RESULTS)) {
      for (const spelling of [type, type.toLowerCase(), type.toUpperCase()]) assert.equal(described(classifyEvent(eventGridEvent(spelling), ALL)), expected[result], spelling);
    }
  });

  test('look-alikes are not resource events', () => {
    for (const type of ['Microsoft.Resources.ResourceReadSuccess', 'Microsoft.Resources.ResourceWriteSuccessX', 'Microsoft.Resources.ResourceWrite', 'Microsoft.Resources.ResourceDeleteSuccess ', 'Microsoft.Compute.ResourceWriteSuccess']) {
      assert.equal(described(classifyEvent(eventGridEvent(type), ALL)), 'ignored:unsupported-event-type', type);
    }
  });
});

describe('envelopeProblem (EventGridDeserializer)', () => {
  test('complete envelopes of both schemas pass, and are left as they were', async () => {
    const event = eventGridEvent('Microsoft.Resources.ResourceWriteSuccess');
    const copy = structuredClone(event);
    assert.equal(await envelopeProblem(event), undefined);
    assert.deepEqual(event, copy);
    const cloudEvent = { specversion: '1.0', id: 'c-1', source: '/subscriptions/x', type: 'Microsoft.Resources.ResourceWriteSuccess', time: '2025-06-01T12:00:00Z', subject: VMSS, data: {} };
    assert.equal(await envelopeProblem(cloudEvent), undefined);
  });

  test('incomplete or wrong envelopes are named', async () => {
    const { topic: _topic, ...noTopic } = eventGridEvent('Microsoft.Resources.ResourceWriteSuccess');
    assert.equal(await envelopeProblem(noTopic), "not a complete Event Grid schema envelope (@azure/eventgrid): event is missing required property 'topic'");
    assert.equal(await envelopeProblem({ ...noTopic, topic: 't', metadataVersion: '2' }), 'not a complete Event Grid schema envelope (@azure/eventgrid): event is not in the Event Grid schema');
    assert.match((await envelopeProblem({ specversion: '1.0', id: 'c', type: 't', source: 5 })) ?? '', /^not a complete CloudEvents 1\.0 envelope \(@azure\/eventgrid\): event property 'source/);
    assert.equal(await envelopeProblem('[]'), 'not an event: expected an object, got a string "[]"');
  });
});
