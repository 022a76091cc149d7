/**
 * Fuzz of the trigger input parsers (src/shared/events): Event Grid and CloudEvents deliveries and
 * the autoscale webhook body. Whatever arrives, the parsers return outcomes or throw
 * InvalidInputError with a message (→ 400, no retry); a well-formed event always gets its outcome.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidInputError } from '../../src/shared/errors';
import { classifyEvent, parseAutoscaleNotification, parseDelivery, parseInput, type EventOutcome } from '../../src/shared/events';
import { mutatedJsonArb, rawJsonInputArb } from '../helpers/arbitraries';
import { fuzz, onlyThrows } from '../helpers/fuzz-runs';

const SCOPES = [
  { subscriptions: [], resourceGroups: [] },
  { subscriptions: ['5f8a2c3d-9b1e-4a7f-8c6d-2e0b1a9c7d34'], resourceGroups: ['rg-a'] },
];

const segment = fc.oneof(fc.constantFrom('web', 'rg-a', 'RG-B', '3', 'vm_1', 'a.b', '(x)', 'é', '', ' ', '..'), fc.string({ maxLength: 10 }));
const resourceUri: fc.Arbitrary<string> = fc.oneof(
  fc
    .record({
      sub: fc.constantFrom('5f8a2c3d-9b1e-4a7f-8c6d-2e0b1a9c7d34', '00000000-0000-0000-0000-0000000000aa', 's1'),
      rg: fc.constantFrom('rg-a', 'RG-B', 'rg.c'),
      type: fc.constantFrom('virtualMachineScaleSets', 'virtualMachines', 'VIRTUALMACHINESCALESETS'),
      name: fc.constantFrom('web', 'api', 'vm-1'),
      child: fc.constantFrom('', '/virtualMachines/3', '/extensions/health', '/virtualMachines/0/networkInterfaces/nic0', '/providers/Microsoft.Authorization/locks/l'),
    })
    .map((r) => `/subscriptions/${r.sub}/resourceGroups/${r.rg}/providers/Microsoft.Compute/${r.type}/${r.name}${r.child}`),
  fc.array(segment, { maxLength: 10 }).map((parts) => `/${parts.join('/')}`),
);
const operationName = fc.oneof(
  fc.constantFrom(
    'Microsoft.Compute/virtualMachineScaleSets/write',
    'Microsoft.Compute/virtualMachineScaleSets/delete/action',
    'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action',
    'Microsoft.Compute/virtualMachines/write',
    'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action',
    'Microsoft.Storage/storageAccounts/write',
  ),
  fc.string({ maxLength: 20 }),
);
const eventType = fc.oneof(
  fc.constantFrom('Microsoft.Resources.ResourceWriteSuccess', 'Microsoft.Resources.ResourceActionSuccess', 'Microsoft.Resources.ResourceDeleteFailure', 'Microsoft.EventGrid.SubscriptionValidationEvent', 'Microsoft.Storage.BlobCreated'),
  fc.string({ maxLength: 12 }),
);
const validTimestamp = fc.oneof(
  fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2024-05-01T10:00:04.6117357Z', '2024-05-01T10:00:04+02:00'),
);
const timestamp = fc.oneof({ weight: 4, arbitrary: validTimestamp }, { weight: 1, arbitrary: fc.constantFrom('2024-13-01T00:00:00Z', 'yesterday', '') });
const data = fc.record(
  { resourceUri, operationName, status: fc.constantFrom('Succeeded', 'Failed'), validationCode: fc.string({ maxLength: 8 }), validationUrl: fc.webUrl() },
  { requiredKeys: ['resourceUri', 'operationName'] },
);
const eventGridEventAt = (time: fc.Arbitrary<string>, type: fc.Arbitrary<string>) =>
  fc.record({ id: fc.uuid(), eventType: type, eventTime: time, subject: fc.string({ maxLength: 8 }), data, dataVersion: fc.constant('2'), metadataVersion: fc.constant('1') });
const cloudEventAt = (time: fc.Arbitrary<string>, type: fc.Arbitrary<string>) =>
  fc.record({ specversion: fc.constant('1.0'), id: fc.uuid(), source: fc.constant('/subscriptions/x'), type, time, data });
const eventGridEvent = eventGridEventAt(timestamp, eventType);
const cloudEvent = cloudEventAt(timestamp, eventType);

function deliveryOf(time: fc.Arbitrary<string>, type: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.oneof(fc.array(eventGridEventAt(time, type), { minLength: 1, maxLength: 6 }), fc.array(cloudEventAt(time, type), { minLength: 1, maxLength: 6 }), cloudEventAt(time, type));
}
/** Near-valid deliveries in either schema (a bad timestamp or validation event without a code among them). */
const nearValidDelivery = deliveryOf(timestamp, eventType);
/** Well-formed deliveries: every event gets an outcome decided by its content, none throws. */
const wellFormedDelivery = deliveryOf(validTimestamp, eventType.filter((type) => type.toLowerCase() !== 'microsoft.eventgrid.subscriptionvalidationevent'));
const hostileDelivery: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: nearValidDelivery },
  { weight: 5, arbitrary: mutatedJsonArb(nearValidDelivery) },
  { weight: 2, arbitrary: rawJsonInputArb },
  { weight: 1, arbitrary: fc.tuple(fc.array(eventGridEvent, { maxLength: 3 }), fc.array(cloudEvent, { maxLength: 3 })).map(([a, b]) => [...a, ...b]) },
);

const autoscaleBody = fc.record({
  version: fc.constant('1.0'),
  status: fc.constantFrom('Activated', 'Resolved'),
  operation: fc.constantFrom('Scale Out', 'Scale In', ' scale   out '),
  context: fc.record({
    timestamp,
    id: fc.constantFrom('/subscriptions/s1/resourceGroups/rg-a/providers/microsoft.insights/autoscalesettings/as1', 'x'),
    name: fc.string({ maxLength: 8 }),
    resourceType: fc.constantFrom('microsoft.compute/virtualmachinescalesets', 'Microsoft.Compute/virtualMachineScaleSets', 'microsoft.web/serverfarms'),
    resourceId: resourceUri,
    oldCapacity: fc.oneof(fc.nat(100).map(String), fc.nat(100)),
    newCapacity: fc.oneof(fc.nat(100).map(String), fc.nat(100)),
  }),
  properties: fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
});
const hostileAutoscale: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: autoscaleBody },
  { weight: 5, arbitrary: mutatedJsonArb(autoscaleBody) },
  { weight: 2, arbitrary: rawJsonInputArb },
);

function checkOutcome(outcome: EventOutcome): void {
  if (outcome.kind === 'hint') {
    const { hint } = outcome;
    const { target } = hint;
    const ids = target.kind === 'scale-set' ? [target.ref.subscriptionId, target.ref.resourceGroup, target.ref.name, target.ref.id] : [target.subscriptionId, target.resourceGroup, target.vmResourceId];
    for (const id of ids) assert.equal(id, id.toLowerCase(), 'hint IDs are lower-case');
    assert.ok(!Number.isNaN(Date.parse(hint.eventTime)), `hint eventTime ${hint.eventTime}`);
  } else if (outcome.kind === 'ignored') {
    assert.ok(outcome.detail.length > 0 && outcome.reason.length > 0);
  }
}

test('fuzz: Event Grid / CloudEvents deliveries parse to one outcome per event or throw InvalidInputError', async (t) => {
  await fuzz(
    t,
    'parseDelivery',
    12000,
    fc.property(hostileDelivery, fc.nat(SCOPES.length - 1), (body, s) => {
      const scope = SCOPES[s] as (typeof SCOPES)[number];
      let parsed: ReturnType<typeof parseDelivery> | undefined;
      onlyThrows(InvalidInputError, () => (parsed = parseDelivery(body, { scope })));
      if (parsed) {
        assert.equal(parsed.outcomes.length, Array.isArray(body) ? body.length : 1);
        parsed.outcomes.forEach(checkOutcome);
        // The same events one at a time (as the Functions trigger hands them over) give the same outcomes.
        const events = Array.isArray(body) ? body : [body];
        assert.deepEqual(events.map((e) => classifyEvent(e, { scope })), parsed.outcomes);
      }
      onlyThrows(InvalidInputError, () => parseInput(body, { scope }));
    }),
  );
});

test('fuzz: well-formed deliveries never throw', async (t) => {
  await fuzz(
    t,
    'parseDelivery (well-formed)',
    2000,
    fc.property(wellFormedDelivery, (body) => {
      const events = Array.isArray(body) ? body : [body];
      const parsed = parseDelivery(body, { scope: SCOPES[0] as (typeof SCOPES)[number] });
      assert.equal(parsed.outcomes.length, events.length);
    }),
  );
});

test('fuzz: autoscale webhook bodies give one outcome or throw InvalidInputError', async (t) => {
  await fuzz(
    t,
    'parseAutoscaleNotification',
    12000,
    fc.property(hostileAutoscale, fc.nat(SCOPES.length - 1), (body, s) => {
      const scope = SCOPES[s] as (typeof SCOPES)[number];
      let parsed: ReturnType<typeof parseAutoscaleNotification> | undefined;
      onlyThrows(InvalidInputError, () => (parsed = parseAutoscaleNotification(body, { scope })));
      if (parsed) {
        assert.equal(parsed.outcomes.length, 1);
        parsed.outcomes.forEach(checkOutcome);
      }
    }),
  );
});
