import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InvalidInputError } from '../../src/shared/errors';
import { classifyEvent, detectInput, hintsOf, parseAutoscaleNotification, parseDelivery, parseInput, type EventOutcome } from '../../src/shared/events';

const FIXTURES = join(__dirname, '..', 'fixtures', 'events');
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
const ALL = { scope: { subscriptions: [], resourceGroups: [] } };

const SUB = '5f8a2c3d-9b1e-4a7f-8c6d-2e0b1a9c7d34';
const WEB = `/subscriptions/${SUB}/resourcegroups/rg-mesh-prod/providers/microsoft.compute/virtualmachinescalesets/vmss-web`;
const WEB_TARGET = { kind: 'scale-set', ref: { subscriptionId: SUB, resourceGroup: 'rg-mesh-prod', name: 'vmss-web', id: WEB } };

/** A minimal well-formed Event Grid resource event; tests override what they look at. */
function event(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'e-1',
    topic: `/subscriptions/${SUB}/resourceGroups/rg-mesh-prod`,
    subject: WEB,
    eventType: 'Microsoft.Resources.ResourceWriteSuccess',
    eventTime: '2024-05-01T10:00:00.0000000Z',
    dataVersion: '2',
    metadataVersion: '1',
    data: { resourceUri: WEB, operationName: 'Microsoft.Compute/virtualMachineScaleSets/write', status: 'Succeeded', ...data },
    ...overrides,
  };
}

function kinds(outcomes: readonly EventOutcome[]): string[] {
  return outcomes.map((o) => (o.kind === 'ignored' ? `ignored:${o.reason}` : o.kind));
}

function assertInvalid(run: () => unknown, message: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof InvalidInputError, `expected InvalidInputError, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  });
}

describe('Event Grid schema deliveries', () => {
  test('the documented-shape batch: each event gets the expected outcome', () => {
    const parsed = parseDelivery(fixture('eventgrid-scale-out-batch.json'), ALL);
    assert.equal(parsed.schema, 'eventgrid');
    assert.equal(parsed.validation, undefined);
    assert.deepEqual(kinds(parsed.outcomes), [
      'hint',
      'hint',
      'ignored:not-vmss',
      'ignored:failed-operation',
      'ignored:read-only-operation',
      'hint',
      'hint',
    ]);
    const hints = hintsOf(parsed.outcomes);
    assert.deepEqual(hints[0], {
      target: WEB_TARGET,
      reason: 'event:Microsoft.Compute/virtualMachineScaleSets/write',
      eventTime: '2024-05-01T10:00:04.6117357Z',
      eventId: '4db48cba-50a2-455a-93b4-de41a3b5b7f6',
    });
    assert.equal(hints[1]?.instanceId, '7');
    assert.deepEqual(hints[2], {
      target: {
        kind: 'virtual-machine',
        vmResourceId: `/subscriptions/${SUB}/resourcegroups/rg-mesh-prod/providers/microsoft.compute/virtualmachines/vmss-api_4f2a9c1e`,
        subscriptionId: SUB,
        resourceGroup: 'rg-mesh-prod',
      },
      instanceId: 'vmss-api_4f2a9c1e',
      reason: 'event:Microsoft.Compute/virtualMachines/delete',
      eventTime: '2024-05-01T10:04:19.9051236Z',
      eventId: 'e5f7a9b1-3c4d-4e6f-8a9b-0c1d2e3f4a5b',
    });
  });

  test('ignored outcomes say what the event was', () => {
    const parsed = parseDelivery(fixture('eventgrid-scale-out-batch.json'), ALL);
    assert.deepEqual(parsed.outcomes[3], {
      kind: 'ignored',
      eventId: 'a3c5e7f9-1b2d-4f6a-8c0e-2d4f6a8c0e1b',
      reason: 'failed-operation',
      detail: `Microsoft.Compute/virtualMachineScaleSets/write on ${WEB} did not succeed (status Failed); it changes nothing directly`,
      eventType: 'Microsoft.Resources.ResourceWriteFailure',
      operationName: 'Microsoft.Compute/virtualMachineScaleSets/write',
      resourceUri: `/subscriptions/${SUB}/resourceGroups/rg-mesh-prod/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web`,
    });
  });

  test('the subscription validation handshake is exposed for the route to answer', () => {
    const parsed = parseDelivery(fixture('eventgrid-subscription-validation.json'), ALL);
    const expected = {
      kind: 'validation',
      eventId: '2d1781af-3a4c-4d7c-bd0c-e34b19da4e66',
      validationCode: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6',
      validationUrl:
        'https://rp-westeurope.eventgrid.azure.net:553/eventsubscriptions/vmss-mesh/validate?id=512d38b6-c7b8-40c8-89fe-f46f9e9622b6&t=2024-05-01T09:59:58.9876543Z&apiVersion=2022-06-15&token=1A1A1A1A',
    };
    assert.deepEqual(parsed.outcomes, [expected]);
    assert.deepEqual(parsed.validation, expected);
  });

  test('event types other than ARM resource events are ignored without reading their data', () => {
    const blob = event({ eventType: 'Microsoft.Storage.BlobCreated', data: { url: 'x' } });
    const deleted = event({ eventType: 'Microsoft.EventGrid.SubscriptionDeletedEvent', data: {} });
    const parsed = parseDelivery([blob, deleted], ALL);
    assert.deepEqual(parsed.outcomes[0], {
      kind: 'ignored',
      eventId: 'e-1',
      reason: 'unsupported-event-type',
      detail: 'event type Microsoft.Storage.BlobCreated is not an ARM resource event',
      eventType: 'Microsoft.Storage.BlobCreated',
    });
    assert.deepEqual(kinds(parsed.outcomes), ['ignored:unsupported-event-type', 'ignored:unsupported-event-type']);
  });

  test('Cancel events never hint, Delete and Action successes do', () => {
    const parsed = parseDelivery(
      [
        event({ eventType: 'Microsoft.Resources.ResourceWriteCancel' }),
        event({ eventType: 'Microsoft.Resources.ResourceDeleteSuccess' }, { operationName: 'Microsoft.Compute/virtualMachineScaleSets/delete' }),
        event({ eventType: 'Microsoft.Resources.ResourceActionSuccess' }, { operationName: 'Microsoft.Compute/virtualMachineScaleSets/deallocate/action' }),
        event({ eventType: 'microsoft.resources.resourceactionfailure' }, { operationName: 'Microsoft.Compute/virtualMachineScaleSets/start/action' }),
      ],
      ALL,
    );
    assert.deepEqual(kinds(parsed.outcomes), ['ignored:canceled-operation', 'hint', 'hint', 'ignored:failed-operation']);
  });

  test('a resourceUri that is not an ARM ID is ignored with the parser message, not fatal', () => {
    const parsed = parseDelivery([event({}, { resourceUri: '/providers/Microsoft.Management/managementGroups/mg1' })], ALL);
    assert.deepEqual(parsed.outcomes[0], {
      kind: 'ignored',
      eventId: 'e-1',
      reason: 'invalid-resource-id',
      detail: 'not an ARM resource ID (must start with /subscriptions/): "/providers/Microsoft.Management/managementGroups/mg1"',
      eventType: 'Microsoft.Resources.ResourceWriteSuccess',
      operationName: 'Microsoft.Compute/virtualMachineScaleSets/write',
      resourceUri: '/providers/Microsoft.Management/managementGroups/mg1',
    });
  });

  test('extra fields and old-style string authorization/claims are tolerated', () => {
    const parsed = parseDelivery([event({ futureField: { x: 1 } }, { authorization: '{"scope":"x"}', claims: '{}', httpRequest: '{}' })], ALL);
    assert.deepEqual(kinds(parsed.outcomes), ['hint']);
  });
});

describe('scope', () => {
  const otherRg = event(
    { id: 'e-2' },
    { resourceUri: `/subscriptions/${SUB}/resourceGroups/RG-Other/providers/Microsoft.Compute/virtualMachineScaleSets/batch` },
  );

  test('empty lists mean everything is in scope', () => {
    assert.deepEqual(kinds(parseDelivery([event(), otherRg], ALL).outcomes), ['hint', 'hint']);
  });

  test('subscriptions and resource groups are matched case-insensitively', () => {
    const scope = { subscriptions: [SUB.toUpperCase()], resourceGroups: ['rg-mesh-prod'] };
    const parsed = parseDelivery([event(), otherRg], { scope });
    assert.deepEqual(kinds(parsed.outcomes), ['hint', 'ignored:out-of-scope-resource-group']);
    const detail = parsed.outcomes[1]?.kind === 'ignored' ? parsed.outcomes[1].detail : '';
    assert.equal(
      detail,
      `/subscriptions/${SUB}/resourcegroups/rg-other/providers/microsoft.compute/virtualmachinescalesets/batch is outside the configured scope (subscriptions: ${SUB}; resource groups: rg-mesh-prod)`,
    );
  });

  test('another subscription is out of scope before resource groups are looked at', () => {
    const parsed = parseDelivery([event()], { scope: { subscriptions: ['00000000-0000-0000-0000-000000000001'], resourceGroups: ['nope'] } });
    assert.deepEqual(kinds(parsed.outcomes), ['ignored:out-of-scope-subscription']);
  });

  test('Flexible VMs are scoped by their own resource group', () => {
    const vm = event({}, { resourceUri: `/subscriptions/${SUB}/resourceGroups/rg-x/providers/Microsoft.Compute/virtualMachines/vm1`, operationName: 'Microsoft.Compute/virtualMachines/write' });
    assert.deepEqual(kinds(parseDelivery([vm], { scope: { subscriptions: [], resourceGroups: ['rg-mesh-prod'] } }).outcomes), ['ignored:out-of-scope-resource-group']);
    assert.deepEqual(kinds(parseDelivery([vm], { scope: { subscriptions: [], resourceGroups: ['rg-x'] } }).outcomes), ['hint']);
  });
});

describe('CloudEvents 1.0 deliveries', () => {
  test('a batch gives the same kind of outcomes as the Event Grid schema', () => {
    const parsed = parseDelivery(fixture('cloudevents-instance-actions.json'), ALL);
    assert.equal(parsed.schema, 'cloudevents');
    assert.deepEqual(kinds(parsed.outcomes), ['hint', 'hint', 'ignored:canceled-operation']);
    assert.deepEqual(hintsOf(parsed.outcomes)[1], {
      target: WEB_TARGET,
      instanceId: '2',
      reason: 'event:Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action',
      eventTime: '2024-05-01T11:16:45.0071538Z',
      eventId: '6f8a0c2e-4b6d-4f8a-8c0e-2b4d6f8a0c2e',
    });
  });

  test('a single object is accepted (structured mode)', () => {
    const parsed = parseDelivery(fixture('cloudevent-single-restart.json'), ALL);
    assert.equal(parsed.schema, 'cloudevents');
    assert.deepEqual(kinds(parsed.outcomes), ['hint']);
  });
});

describe('malformed deliveries throw InvalidInputError with the JSON path', () => {
  test('a field of the wrong type', () => {
    const events = [event(), event(), event(), event({}, { resourceUri: 42 })];
    assertInvalid(() => parseDelivery(events, ALL), '[3].data.resourceUri: expected a string, got number 42');
  });

  test('missing fields of the envelope and of data', () => {
    assertInvalid(() => parseDelivery([event({ id: undefined })], ALL), '[0].id: expected a string, got nothing');
    assertInvalid(() => parseDelivery([event({ data: 'x' })], ALL), '[0].data: expected an object, got a string "x"');
    assertInvalid(() => parseDelivery([event({}, { operationName: null })], ALL), '[0].data.operationName: expected a string, got null');
    assertInvalid(() => parseDelivery([event({ eventTime: 'yesterday' })], ALL), '[0].eventTime: expected an RFC 3339 timestamp, got a string "yesterday"');
    assertInvalid(() => parseDelivery([event({}, { status: 3 })], ALL), '[0].data.status: expected a string, got number 3');
  });

  test('not a delivery at all', () => {
    assertInvalid(() => parseDelivery([], ALL), 'expected at least one event, got an empty array');
    assertInvalid(() => parseDelivery('x', ALL), 'expected an array of Event Grid events or CloudEvents, got a string "x"');
    assertInvalid(() => parseDelivery([7], ALL), '[0]: expected an Event Grid event (with eventType) or a CloudEvent (with specversion), got number 7');
    assertInvalid(() => parseDelivery(event(), ALL), 'an Event Grid schema delivery is an array of events: wrap the event in [ ]');
    assertInvalid(() => parseDelivery([event(), null], ALL), '[1]: expected an object, got null');
  });

  test('one delivery, one schema', () => {
    const cloud = (fixture('cloudevents-instance-actions.json') as unknown[])[0];
    assertInvalid(() => parseDelivery([event(), cloud], ALL), '[1]: a CloudEvent inside an Event Grid schema delivery (one delivery uses one schema)');
    assertInvalid(() => parseDelivery([cloud, event()], ALL), '[1]: an Event Grid schema event inside a CloudEvents delivery (one delivery uses one schema)');
  });

  test('CloudEvents specifics', () => {
    const cloud = (fixture('cloudevents-instance-actions.json') as Record<string, unknown>[])[0] as Record<string, unknown>;
    assertInvalid(() => parseDelivery([{ ...cloud, specversion: '0.3' }], ALL), '[0].specversion: unsupported CloudEvents specversion "0.3" (expected "1.0")');
    assertInvalid(() => parseDelivery([{ ...cloud, data: undefined, data_base64: 'e30=' }], ALL), '[0].data_base64: binary data (data_base64) is not supported: ARM events carry JSON data');
    assertInvalid(() => parseDelivery([{ ...cloud, source: undefined }], ALL), '[0].source: expected a string, got nothing');
    assertInvalid(() => parseDelivery([{ ...cloud, time: 5 }], ALL), '[0].time: expected a string, got number 5');
  });

  test('a validation event without its code', () => {
    const validation = (fixture('eventgrid-subscription-validation.json') as Record<string, unknown>[])[0] as Record<string, unknown>;
    assertInvalid(() => parseDelivery([{ ...validation, data: {} }], ALL), '[0].data.validationCode: expected a string, got nothing');
  });
});

describe('classifyEvent (one event per Functions invocation)', () => {
  test('either schema, paths relative to the event', () => {
    assert.deepEqual(kinds([classifyEvent(event(), ALL)]), ['hint']);
    assert.deepEqual(kinds([classifyEvent(fixture('cloudevent-single-restart.json'), ALL)]), ['hint']);
    assertInvalid(() => classifyEvent(event({}, { resourceUri: [] }), ALL), 'data.resourceUri: expected a string, got an array');
  });
});

describe('autoscale webhook', () => {
  test('a scale set scale-out hints its scale set', () => {
    const parsed = parseAutoscaleNotification(fixture('autoscale-vmss-scale-out.json'), ALL);
    assert.equal(parsed.schema, 'autoscale-webhook');
    assert.deepEqual(parsed.outcomes, [
      {
        kind: 'hint',
        hint: {
          target: WEB_TARGET,
          reason: 'autoscale:scale-out',
          eventTime: '2024-05-01T10:00:03.1580137Z',
          eventId: `autoscale:/subscriptions/${SUB}/resourcegroups/rg-mesh-prod/providers/microsoft.insights/autoscalesettings/vmss-web-autoscale@2024-05-01T10:00:03.1580137Z`,
        },
      },
    ]);
  });

  test('an App Service plan setting is ignored with a reason', () => {
    const [outcome] = parseAutoscaleNotification(fixture('autoscale-app-service-plan.json'), ALL).outcomes;
    assert.equal(outcome?.kind, 'ignored');
    assert.equal(outcome?.kind === 'ignored' && outcome.reason, 'not-a-scale-set-autoscale');
    assert.equal(
      outcome?.kind === 'ignored' && outcome.detail,
      `autoscale setting plan-portal-autoscale scales a microsoft.web/serverfarms (/subscriptions/${SUB}/resourceGroups/rg-mesh-prod/providers/Microsoft.Web/serverfarms/plan-portal), not a scale set: Scale In 4 → 2`,
    );
  });

  test("a caller's operation text reaches the hint's reason (logs, every relay's push source) cut at 64 characters", () => {
    const body = { ...(fixture('autoscale-vmss-scale-out.json') as Record<string, unknown>), operation: `Scale Out ${'x'.repeat(5_000)}` };
    const [outcome] = parseAutoscaleNotification(body, ALL).outcomes;
    assert.equal(outcome?.kind === 'hint' && outcome.hint.reason, `autoscale:scale-out-${'x'.repeat(54)}`);
  });

  test('Resolved notifications hint too; scope applies', () => {
    const body = { ...(fixture('autoscale-vmss-scale-out.json') as Record<string, unknown>), status: 'Resolved' };
    assert.deepEqual(kinds(parseAutoscaleNotification(body, ALL).outcomes), ['hint']);
    assert.deepEqual(kinds(parseAutoscaleNotification(body, { scope: { subscriptions: [], resourceGroups: ['elsewhere'] } }).outcomes), ['ignored:out-of-scope-resource-group']);
  });

  test('malformed bodies', () => {
    const body = fixture('autoscale-vmss-scale-out.json') as { context: Record<string, unknown> };
    const withContext = (context: Record<string, unknown>) => ({ ...body, context: { ...body.context, ...context } });
    assertInvalid(() => parseAutoscaleNotification(withContext({ newCapacity: 'five' }), ALL), 'context.newCapacity: expected an instance count like "3", got a string "five"');
    assertInvalid(() => parseAutoscaleNotification(withContext({ resourceId: 7 }), ALL), 'context.resourceId: expected a string, got number 7');
    assertInvalid(
      () => parseAutoscaleNotification(withContext({ resourceId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1` }), ALL),
      `context.resourceId: resourceType is microsoft.compute/virtualmachinescalesets but the ID is not a scale set: /subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1`,
    );
    assertInvalid(() => parseAutoscaleNotification({ ...body, context: [] }, ALL), 'context: expected an object, got an array');
    assert.deepEqual(kinds(parseAutoscaleNotification(withContext({ oldCapacity: 3, newCapacity: 5 }), ALL).outcomes), ['hint'], 'numbers are accepted too');
  });
});

describe('parseInput auto-detects the input', () => {
  test('each fixture is recognised', () => {
    const expected: Record<string, string> = {
      'eventgrid-scale-out-batch.json': 'eventgrid',
      'eventgrid-subscription-validation.json': 'eventgrid',
      'cloudevents-instance-actions.json': 'cloudevents',
      'cloudevent-single-restart.json': 'cloudevents',
      'autoscale-vmss-scale-out.json': 'autoscale-webhook',
      'autoscale-app-service-plan.json': 'autoscale-webhook',
    };
    for (const [name, schema] of Object.entries(expected)) {
      assert.equal(detectInput(fixture(name)), schema, name);
      assert.equal(parseInput(fixture(name), ALL).schema, schema, name);
    }
  });

  test('anything else is rejected with what was expected', () => {
    assertInvalid(
      () => parseInput({ hello: 'world' }, ALL),
      'expected an Event Grid delivery (array of events), a CloudEvent, or an autoscale webhook body ({version, status, operation, context}), got an object',
    );
    assert.equal(detectInput({ hello: 'world' }), undefined);
  });
});
