import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidInputError } from '../../src/shared/errors';
import { groupDeliveryHints, hintKey, hintsOf, parseDelivery, parseInput, type EventOutcome } from '../../src/shared/events';
import { buildDeliveries, type ArmOperation } from '../../src/sandbox/event-grid';

// Small pools so scenarios collide on scale sets and scopes, as real deliveries do.
const SUBS = ['5f8a2c3d-9b1e-4a7f-8c6d-2e0b1a9c7d34', '00000000-0000-0000-0000-0000000000aa'];
const RGS = ['rg-a', 'rg-b', 'rg-c'];
const SETS = ['web', 'api'];

// Spec, restated independently of operation-policy.ts: what must hint and what must not.
const SET_OPS = [
  'Microsoft.Compute/virtualMachineScaleSets/write',
  'Microsoft.Compute/virtualMachineScaleSets/delete',
  'Microsoft.Compute/virtualMachineScaleSets/delete/action',
  'Microsoft.Compute/virtualMachineScaleSets/scale/action',
  'Microsoft.Compute/virtualMachineScaleSets/powerOff/action',
];
const INSTANCE_OPS = [
  'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write',
  'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/delete',
  'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action',
];
const VM_OPS = ['Microsoft.Compute/virtualMachines/write', 'Microsoft.Compute/virtualMachines/delete', 'Microsoft.Compute/virtualMachines/start/action'];
const QUIET_INSTANCE_OPS = [
  'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action',
  'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/retrieveBootDiagnosticsData/action',
];

type Target = 'set' | 'instance' | 'vm' | 'storage';

interface Scenario {
  readonly sub: string;
  readonly rg: string;
  readonly name: string;
  readonly target: Target;
  readonly operationName: string;
  readonly quiet: boolean;
  readonly status: ArmOperation['status'];
  readonly instance: number;
  readonly casing: boolean[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    sub: fc.constantFrom(...SUBS),
    rg: fc.constantFrom(...RGS),
    name: fc.constantFrom(...SETS),
    target: fc.constantFrom<Target>('set', 'instance', 'vm', 'storage'),
    pick: fc.nat(),
    quiet: fc.boolean(),
    status: fc.constantFrom<ArmOperation['status']>('Succeeded', 'Succeeded', 'Failed', 'Canceled'),
    instance: fc.nat({ max: 20 }),
    casing: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  })
  .map(({ pick, quiet, ...s }) => {
    const from = (list: string[]) => list[pick % list.length] as string;
    const quietAllowed = s.target === 'instance' && quiet;
    const operationName =
      s.target === 'set'
        ? from(SET_OPS)
        : s.target === 'instance'
          ? from(quietAllowed ? QUIET_INSTANCE_OPS : INSTANCE_OPS)
          : s.target === 'vm'
            ? from(VM_OPS)
            : 'Microsoft.Storage/storageAccounts/write';
    return { ...s, operationName, quiet: quietAllowed };
  });

const flip = (text: string, upper: boolean | undefined) => (upper ? text.toUpperCase() : text);

function toOperation(s: Scenario, index: number): ArmOperation {
  const rgPart = `/subscriptions/${s.sub}/${flip('resourceGroups', s.casing[0])}/${flip(s.rg, s.casing[1])}/providers`;
  const compute = flip('Microsoft.Compute', s.casing[2]);
  const resourceUri =
    s.target === 'set'
      ? `${rgPart}/${compute}/virtualMachineScaleSets/${s.name}`
      : s.target === 'instance'
        ? `${rgPart}/${compute}/virtualMachineScaleSets/${s.name}/virtualMachines/${s.instance}`
        : s.target === 'vm'
          ? `${rgPart}/${compute}/virtualMachines/${s.name}_${s.instance}`
          : `${rgPart}/Microsoft.Storage/storageAccounts/st${s.name}`;
  return {
    operationName: s.operationName,
    resourceUri,
    subscriptionId: s.sub,
    resourceGroup: s.rg,
    status: s.status,
    correlationId: `corr-${index}`,
    eventTime: new Date(Date.UTC(2024, 4, 1, 10, 0, index)).toISOString(),
  };
}

interface Scope {
  readonly subscriptions: string[];
  readonly resourceGroups: string[];
}
const scopeArb: fc.Arbitrary<Scope> = fc.record({
  subscriptions: fc.subarray(SUBS),
  resourceGroups: fc.subarray(RGS),
});

/** The expected outcome, from the documented order of checks. */
function expected(s: Scenario, scope: Scope): { kind: 'hint'; key: string } | { kind: 'ignored'; reason: string } {
  if (s.target === 'storage') return { kind: 'ignored', reason: 'not-vmss' };
  if (scope.subscriptions.length > 0 && !scope.subscriptions.includes(s.sub)) return { kind: 'ignored', reason: 'out-of-scope-subscription' };
  if (scope.resourceGroups.length > 0 && !scope.resourceGroups.includes(s.rg)) return { kind: 'ignored', reason: 'out-of-scope-resource-group' };
  if (s.status === 'Failed') return { kind: 'ignored', reason: 'failed-operation' };
  if (s.status === 'Canceled') return { kind: 'ignored', reason: 'canceled-operation' };
  if (s.quiet) return { kind: 'ignored', reason: s.operationName.includes('retrieve') ? 'read-only-operation' : 'no-instance-change' };
  const base = `/subscriptions/${s.sub}/resourcegroups/${s.rg}/providers/microsoft.compute`;
  return { kind: 'hint', key: s.target === 'vm' ? `${base}/virtualmachines/${s.name}_${s.instance}` : `${base}/virtualmachinescalesets/${s.name}` };
}

function actual(outcome: EventOutcome): { kind: 'hint'; key: string } | { kind: 'ignored'; reason: string } | { kind: 'validation' } {
  if (outcome.kind === 'hint') return { kind: 'hint', key: hintKey(outcome.hint) };
  if (outcome.kind === 'ignored') return { kind: 'ignored', reason: outcome.reason };
  return { kind: 'validation' };
}

const deliveryArb = fc.record({
  scenarios: fc.array(scenarioArb, { minLength: 1, maxLength: 40 }),
  scope: scopeArb,
  schema: fc.constantFrom<'eventgrid' | 'cloudevents'>('eventgrid', 'cloudevents'),
  seed: fc.integer(),
  duplicateRate: fc.constantFrom(0, 0.3, 1),
  reorder: fc.boolean(),
});

describe('event parsing (properties)', () => {
  test('every event, in either schema, duplicated and reordered, gets the outcome the spec says', () => {
    fc.assert(
      fc.property(deliveryArb, ({ scenarios, scope, schema, seed, duplicateRate, reorder }) => {
        const operations = scenarios.map(toOperation);
        const byCorrelation = new Map(operations.map((o, i) => [o.correlationId, scenarios[i] as Scenario]));
        const [delivery] = buildDeliveries(operations, { schema, seed, duplicateRate, reorder, maxEventsPerBatch: 5000 });
        assert.ok(delivery);
        const parsed = parseDelivery(delivery.events, { scope });
        assert.equal(parsed.schema, schema);
        assert.equal(parsed.outcomes.length, delivery.events.length);
        delivery.events.forEach((event, i) => {
          const scenario = byCorrelation.get(String(event.data['correlationId'])) as Scenario;
          assert.deepEqual(actual(parsed.outcomes[i] as EventOutcome), expected(scenario, scope), JSON.stringify(scenario));
        });
      }),
      { numRuns: 150 },
    );
  });

  test('delivery groups: one per hinted target, every hint event ID kept once, order-independent', () => {
    fc.assert(
      fc.property(deliveryArb, fc.integer(), ({ scenarios, scope, schema, seed, duplicateRate, reorder }, shuffleSeed) => {
        const [delivery] = buildDeliveries(scenarios.map(toOperation), { schema, seed, duplicateRate, reorder, maxEventsPerBatch: 5000 });
        const hints = hintsOf(parseDelivery(delivery?.events, { scope }).outcomes);
        const groups = groupDeliveryHints(hints);
        assert.deepEqual(new Set(groups.map((g) => g.key)), new Set(hints.map(hintKey)));
        assert.equal(groups.length, new Set(hints.map(hintKey)).size);
        assert.deepEqual(new Set(groups.flatMap((g) => g.eventIds)), new Set(hints.map((h) => h.eventId)));
        assert.equal(
          groups.reduce((n, g) => n + g.eventIds.length, 0),
          new Set(hints.map((h) => `${hintKey(h)} ${h.eventId}`)).size,
        );
        for (const group of groups) {
          const named = hints.filter((h) => hintKey(h) === group.key);
          assert.deepEqual(group.target, named[0]?.target);
          assert.deepEqual(new Set(group.instanceIds), new Set(named.flatMap((h) => (h.instanceId === undefined ? [] : [h.instanceId]))));
        }
        const shuffled = fc.sample(fc.shuffledSubarray(hints, { minLength: hints.length, maxLength: hints.length }), { seed: shuffleSeed, numRuns: 1 })[0] ?? [];
        const canonical = (list: ReturnType<typeof groupDeliveryHints>) =>
          list.map((g) => [g.key, [...g.eventIds].sort(), [...g.instanceIds].sort()]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
        assert.deepEqual(canonical(groupDeliveryHints(shuffled)), canonical(groups));
      }),
      { numRuns: 100 },
    );
  });

  test('any JSON is either parsed or rejected with InvalidInputError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseInput(value, { scope: { subscriptions: [], resourceGroups: [] } });
        } catch (error) {
          assert.ok(error instanceof InvalidInputError, String(error));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a field of the wrong type anywhere makes the whole delivery invalid, naming that path', () => {
    const fields = [
      { path: (i: number) => `[${i}].id`, set: (e: Record<string, unknown>, v: unknown) => (e['id'] = v) },
      { path: (i: number) => `[${i}].eventType`, set: (e: Record<string, unknown>, v: unknown) => (e['eventType'] = v) },
      { path: (i: number) => `[${i}].eventTime`, set: (e: Record<string, unknown>, v: unknown) => (e['eventTime'] = v) },
      { path: (i: number) => `[${i}].data.resourceUri`, set: (e: Record<string, unknown>, v: unknown) => ((e['data'] as Record<string, unknown>)['resourceUri'] = v) },
      { path: (i: number) => `[${i}].data.operationName`, set: (e: Record<string, unknown>, v: unknown) => ((e['data'] as Record<string, unknown>)['operationName'] = v) },
    ];
    const wrong = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }));
    fc.assert(
      fc.property(fc.array(scenarioArb, { minLength: 1, maxLength: 10 }), fc.nat(), fc.nat({ max: fields.length - 1 }), wrong, (scenarios, at, which, value) => {
        const [delivery] = buildDeliveries(scenarios.map(toOperation), { maxEventsPerBatch: 5000 });
        const events = JSON.parse(JSON.stringify(delivery?.events)) as Record<string, unknown>[];
        const index = at % events.length;
        const field = fields[which] as (typeof fields)[number];
        field.set(events[index] as Record<string, unknown>, value);
        assert.throws(
          () => parseDelivery(events, { scope: { subscriptions: [], resourceGroups: [] } }),
          (error: unknown) => error instanceof InvalidInputError && error.path === field.path(index) && error.message.startsWith(`${field.path(index)}: expected a string, got `),
        );
      }),
      { numRuns: 200 },
    );
  });

  test('a large delivery (5,000 events) yields one outcome per event', () => {
    const scenarios = fc.sample(scenarioArb, { seed: 11, numRuns: 5000 });
    const [delivery] = buildDeliveries(scenarios.map(toOperation), { maxEventsPerBatch: 5000, seed: 5 });
    const scope = { subscriptions: [], resourceGroups: [] };
    const parsed = parseDelivery(delivery?.events, { scope });
    assert.equal(parsed.outcomes.length, 5000);
    const expectedHints = scenarios.filter((s) => expected(s, scope).kind === 'hint').length;
    assert.equal(hintsOf(parsed.outcomes).length, expectedHints);
  });
});
