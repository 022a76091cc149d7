/**
 * Properties of the terminal view's pure renderers over arbitrary states and widths. Identities
 * are unique as in a real sandbox: scale set IDs, instance names within a set, relay node IDs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { SandboxInstance, SandboxRelayClient, SandboxScaleSet, SandboxState, TimelineEntry } from '../../src/sandbox/sandbox-state';
import { describeChanges, renderStatusLines } from '../../src/sandbox/terminal-view';

const text = fc.string({ unit: fc.constantFrom(...'abcxyz_-./: 0123456789→✓é'.split('')), minLength: 0, maxLength: 40 });
const iso = fc.date({ min: new Date('2026-01-01T00:00:00Z'), max: new Date('2026-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());

const instance: fc.Arbitrary<SandboxInstance> = fc.record({
  name: text,
  instanceId: text,
  privateIp: fc.ipV4(),
  zone: fc.constantFrom('', '1', '2', '3'),
  provisioningState: fc.constantFrom('Creating', 'Succeeded', 'Deleting', 'Failed', 'Updating'),
  powerState: fc.constantFrom('starting', 'running', 'stopped', 'deallocated'),
  health: fc.constantFrom(null, 'Healthy', 'Unhealthy', 'Unknown'),
  consul: fc.constantFrom('passing', 'warning', 'critical', 'draining', 'absent'),
  trafficShare: fc.double({ min: 0, max: 1, noNaN: true }),
  served: fc.nat({ max: 1_000_000 }),
});

const scaleSet: fc.Arbitrary<SandboxScaleSet> = fc.record({
  id: text,
  name: text,
  orchestrationMode: fc.constantFrom('Uniform', 'Flexible'),
  capacity: fc.nat({ max: 1000 }),
  service: text,
  port: fc.integer({ min: 1, max: 65535 }),
  protocol: fc.constantFrom('http', 'grpc'),
  instances: fc.uniqueArray(instance, { maxLength: 6, selector: (i) => i.name }),
});

const versions = fc.dictionary(fc.constantFrom('cluster', 'endpoint', 'listener', 'route', 'other'), fc.nat({ max: 99 }).map(String));
const relayClient: fc.Arbitrary<SandboxRelayClient> = fc.record({ nodeId: text, profile: text, lastSentVersion: versions, lastAckedVersion: versions, lastNack: fc.option(text, { nil: undefined }) }, { requiredKeys: ['nodeId', 'profile', 'lastSentVersion', 'lastAckedVersion'] });
const entry: fc.Arbitrary<TimelineEntry> = fc.record({ at: iso, kind: fc.constantFrom('arm-operation', 'event-delivered', 'reconcile', 'push', 'client-ack', 'sandbox'), summary: text });

const sandboxState: fc.Arbitrary<SandboxState> = fc.record({
  generatedAt: iso,
  endpoints: fc.record({ armEmulator: text, consul: text, consulKind: fc.constantFrom('agent', 'double'), functionsHost: text, relayXds: text, relayAdmin: text, statusPage: text }),
  scaleSets: fc.uniqueArray(scaleSet, { maxLength: 3, selector: (s) => s.id.toLowerCase() }),
  relayClients: fc.uniqueArray(relayClient, { maxLength: 3, selector: (c) => c.nodeId }),
  traffic: fc.record({ windowSeconds: fc.nat({ max: 60 }), requests: fc.nat(), failed: fc.nat(), failedTotal: fc.nat() }),
  eventChaos: fc.boolean(),
  timeline: fc.array(entry, { maxLength: 8 }),
});

const visibleWidth = (line: string) => [...line.replace(/\x1b\[[0-9;]*m/g, '')].length;

test('every rendered line fits the width, with or without colour, and holds no line break', () => {
  fc.assert(
    fc.property(sandboxState, fc.integer({ min: 20, max: 240 }), fc.boolean(), (state, width, color) => {
      for (const line of renderStatusLines(state, { width, color })) {
        assert.ok(visibleWidth(line) <= width, `${visibleWidth(line)} > ${width}: ${JSON.stringify(line)}`);
        assert.ok(!line.includes('\n'));
        if (!color) assert.ok(!line.includes('\x1b'));
      }
    }),
  );
});

test('maxLines is a hard limit', () => {
  fc.assert(
    fc.property(sandboxState, fc.integer({ min: 1, max: 30 }), (state, maxLines) => {
      assert.ok(renderStatusLines(state, { width: 100, maxLines }).length <= maxLines);
    }),
  );
});

test('a state compared with itself has no changes; change lines never carry ANSI', () => {
  fc.assert(
    fc.property(sandboxState, sandboxState, (a, b) => {
      assert.deepEqual(describeChanges(a, a), []);
      for (const line of describeChanges(a, b)) assert.ok(!line.includes('\x1b'), line);
    }),
  );
});
