/**
 * The chaos soak's judges, fed violating commits and answers: each must catch what it is for, and
 * leave alone what only looks like it (a race within the grace, an IP handed to a new instance,
 * our own checks).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ArmHistory } from '../../src/sandbox/chaos/arm-history';
import { BatchPlanner, batchSteps, conflict, laneOf } from '../../src/sandbox/chaos/batches';
import { buildSchedule, type Step } from '../../src/sandbox/chaos/schedule';
import { armFaultSets, changedSet } from '../../src/sandbox/chaos/step-targets';
import { ConsulObserver, foreignView, judgeCommit, type ArmInstanceState, type ObserverOptions } from '../../src/sandbox/chaos/consul-observer';
import { judgePushAnswer } from '../../src/sandbox/chaos/hostile-clients';
import { NoEndpointLog } from '../../src/sandbox/chaos/no-endpoint';
import { emptyRow, reproduceCommand, unreachedClasses } from '../../src/sandbox/chaos/report';
import type { ArmInstanceView } from '../../src/sandbox/chaos/world-view';
import type { EmulatedInstance } from '../../src/sandbox/arm-emulator';
import type { CommitObserver, ConsulDoubleState, WorldSnapshot } from '../../src/sandbox/consul-double';
import type { CheckEntry, NodeEntry, ServiceEntry } from '../../src/sandbox/consul-double';
import { AZURE_CHECK_ID, MAINTENANCE_CHECK_ID, NODE_META, OWNED_NODE_META, SERVICE_TAG, isOwnedOrReleasedNodeMeta } from '../../src/shared/ownership';

const NOW = 1_000_000;
const ID_A = '/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/orders/virtualmachines/0';
const ID_B = '/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/orders/virtualmachines/7';

function node(name: string, address: string, meta: Record<string, string>): NodeEntry {
  return { id: name, node: name, address, datacenter: 'dc1', taggedAddresses: null, meta, createIndex: 1, modifyIndex: 1 };
}
function ourNode(name: string, address: string, instanceId: string): NodeEntry {
  return node(name, address, { ...OWNED_NODE_META, [NODE_META.instanceId]: instanceId });
}
function service(nodeName: string, id: string, tags: string[] = [SERVICE_TAG]): ServiceEntry {
  return { node: nodeName, id, service: id, tags, address: '', meta: {}, port: 9090, weights: { Passing: 1, Warning: 1 }, enableTagOverride: false, createIndex: 1, modifyIndex: 1 };
}
function check(nodeName: string, checkId: string, status: string, serviceId = ''): CheckEntry {
  return { node: nodeName, checkId, name: checkId, status, notes: '', output: '', serviceId, serviceName: '', serviceTags: [], type: '', definition: {}, createIndex: 1, modifyIndex: 1 };
}
function snapshot(parts: { nodes?: readonly NodeEntry[]; services?: readonly ServiceEntry[]; checks?: readonly CheckEntry[] }): WorldSnapshot {
  return { index: 1, nodes: parts.nodes ?? [], services: parts.services ?? [], checks: parts.checks ?? [], kv: [] };
}
/** One of our registrations: node, tagged service, Azure check (and maintenance when draining). */
function registered(name: string, address: string, instanceId: string, health: 'passing' | 'critical' | 'maintenance') {
  return {
    nodes: [ourNode(name, address, instanceId)],
    services: [service(name, 'orders')],
    checks: [check(name, AZURE_CHECK_ID, health === 'critical' ? 'critical' : 'passing'), ...(health === 'maintenance' ? [check(name, MAINTENANCE_CHECK_ID, 'critical')] : [])],
  };
}
const live = (forMs: number): ArmInstanceState => ({ present: true, running: true, live: true, since: NOW - forMs, description: 'orders_0 Succeeded/running/Healthy' });
const unhealthy = (forMs: number): ArmInstanceState => ({ present: true, running: true, live: false, since: NOW - forMs, description: 'orders_0 Succeeded/running/Unhealthy' });
const gone = (forMs: number): ArmInstanceState => ({ present: false, running: false, live: false, since: NOW - forMs, description: 'orders_0 gone from ARM' });

function options(arm: Record<string, ArmInstanceState>): ObserverOptions {
  return { armInstance: (id) => arm[id] ?? gone(1e9), currentClass: () => 'test' };
}

describe('chaos Consul observer: wrongful flips', () => {
  test('a live instance (ARM: running + healthy for 5 s) whose check goes passing → critical is a wrongful flip', () => {
    const judged = judgeCommit({ before: snapshot(registered('n0', '10.0.0.4', ID_A, 'passing')), after: snapshot(registered('n0', '10.0.0.4', ID_A, 'critical')) }, options({ [ID_A]: live(5_000) }), NOW);
    assert.deepEqual(
      judged.flips.map((f) => [f.node, f.to]),
      [['n0', 'critical']],
    );
  });

  test('… and so is passing → maintenance (_node_maintenance)', () => {
    const judged = judgeCommit({ before: snapshot(registered('n0', '10.0.0.4', ID_A, 'passing')), after: snapshot(registered('n0', '10.0.0.4', ID_A, 'maintenance')) }, options({ [ID_A]: live(5_000) }), NOW);
    assert.deepEqual(
      judged.flips.map((f) => [f.node, f.to]),
      [['n0', 'maintenance']],
    );
  });

  test('not a flip: ARM turned healthy only 500 ms ago (a write that raced it), or ARM says unhealthy', () => {
    const commit = { before: snapshot(registered('n0', '10.0.0.4', ID_A, 'passing')), after: snapshot(registered('n0', '10.0.0.4', ID_A, 'critical')) };
    assert.deepEqual(judgeCommit(commit, options({ [ID_A]: live(500) }), NOW).flips, []);
    assert.deepEqual(judgeCommit(commit, options({ [ID_A]: unhealthy(5_000) }), NOW).flips, []);
  });

  test('the observer reports flips from the commits it watches', () => {
    let watch: CommitObserver = () => undefined;
    const state = { observeCommits: (o: CommitObserver) => ((watch = o), () => undefined) } as unknown as ConsulDoubleState;
    const observer = new ConsulObserver(state, { ...options({ [ID_A]: live(5_000) }), now: () => NOW });
    watch({ before: snapshot(registered('n0', '10.0.0.4', ID_A, 'passing')), after: snapshot(registered('n0', '10.0.0.4', ID_A, 'critical')) });
    assert.equal(observer.flips.length, 1);
  });
});

describe('chaos Consul observer: zombie registrations', () => {
  test('registering an instance ARM has shown gone for 5 s is a zombie', () => {
    const judged = judgeCommit({ before: snapshot({}), after: snapshot(registered('n0', '10.0.0.4', ID_A, 'critical')) }, options({ [ID_A]: gone(5_000) }), NOW);
    assert.deepEqual(
      judged.zombies.map((z) => [z.node, z.what]),
      [['n0', 'registered']],
    );
  });

  test('marking passing an instance ARM has shown unhealthy for 5 s is a zombie', () => {
    const judged = judgeCommit({ before: snapshot(registered('n0', '10.0.0.4', ID_A, 'critical')), after: snapshot(registered('n0', '10.0.0.4', ID_A, 'passing')) }, options({ [ID_A]: unhealthy(5_000) }), NOW);
    assert.deepEqual(
      judged.zombies.map((z) => [z.node, z.what]),
      [['n0', 'marked passing']],
    );
  });

  test('not a zombie: within the grace, a critical registration of a present instance, a heal ARM shows', () => {
    assert.deepEqual(judgeCommit({ before: snapshot({}), after: snapshot(registered('n0', '10.0.0.4', ID_A, 'passing')) }, options({ [ID_A]: gone(500) }), NOW).zombies, []);
    assert.deepEqual(judgeCommit({ before: snapshot({}), after: snapshot(registered('n0', '10.0.0.4', ID_A, 'critical')) }, options({ [ID_A]: unhealthy(5_000) }), NOW).zombies, []);
    assert.deepEqual(judgeCommit({ before: snapshot(registered('n0', '10.0.0.4', ID_A, 'critical')), after: snapshot(registered('n0', '10.0.0.4', ID_A, 'passing')) }, options({ [ID_A]: live(5_000) }), NOW).zombies, []);
  });
});

describe('chaos Consul observer: removals are matched by instance, not by address', () => {
  test('deregistering a gone instance whose IP a new running instance now has is no wrongful removal', () => {
    const arm = { [ID_A]: gone(5_000), [ID_B]: live(5_000) };
    const judged = judgeCommit({ before: snapshot(registered('n0', '10.0.0.4', ID_A, 'passing')), after: snapshot({}) }, options(arm), NOW);
    assert.deepEqual(judged.removals, []);
  });

  test('deregistering (or releasing) a running instance is one', () => {
    const released = node('n0', '10.0.0.4', { [NODE_META.instanceId]: ID_A, [NODE_META.released]: 'run-1' });
    const judged = judgeCommit({ before: snapshot(registered('n0', '10.0.0.4', ID_A, 'passing')), after: snapshot({ nodes: [released] }) }, options({ [ID_A]: live(5_000) }), NOW);
    assert.deepEqual(
      judged.removals.map((r) => r.node),
      ['n0'],
    );
  });
});

describe('chaos Consul observer: unowned writes on the mesh nodes', () => {
  const mesh = registered('n0', '10.0.0.4', ID_A, 'passing');
  const withForeign = snapshot({
    nodes: mesh.nodes,
    services: [...mesh.services, service('n0', 'node-exporter-1', ['metrics'])],
    checks: [...mesh.checks, check('n0', 'disk-space', 'passing'), check('n0', 'orders-alive', 'passing', 'orders'), check('n0', 'externalNodeHealth', 'passing')],
  });

  test('deleting someone else\'s node check on one of our nodes is an unowned write', () => {
    const after = snapshot({ ...withForeign, checks: withForeign.checks.filter((c) => c.checkId !== 'disk-space') });
    const judged = judgeCommit({ before: withForeign, after }, options({ [ID_A]: live(5_000) }), NOW);
    assert.deepEqual(
      judged.unownedWrites.map((w) => w.what),
      ['deleted check n0/disk-space'],
    );
  });

  test('the foreign view of a mesh node holds the foreign service and check, not ours (Azure, maintenance, consul-esm, our service\'s)', () => {
    assert.deepEqual([...foreignView(withForeign).keys()].sort(), ['check n0/disk-space', 'service n0/node-exporter-1']);
  });

  test('releasing the node keeps the foreign entries foreign and unchanged', () => {
    const released = node('n0', '10.0.0.4', { [NODE_META.instanceId]: ID_A, [NODE_META.released]: 'run-1' });
    const after = snapshot({ nodes: [released], services: [service('n0', 'node-exporter-1', ['metrics'])], checks: [check('n0', 'disk-space', 'passing')] });
    assert.deepEqual(judgeCommit({ before: withForeign, after }, options({ [ID_A]: gone(5_000) }), NOW).unownedWrites, []);
    assert.equal(isOwnedOrReleasedNodeMeta(released.meta), true);
    assert.equal(isOwnedOrReleasedNodeMeta({ [NODE_META.scaleSetId]: 'x' }), false);
  });
});

describe('chaos ARM history', () => {
  const view = (id: string, health: 'Healthy' | 'Unhealthy', provisioningState = 'Succeeded'): ArmInstanceView => ({
    service: 'orders',
    ip: '10.0.0.4',
    instance: { id: id.toUpperCase(), name: 'orders_0', provisioningState, powerState: 'running', health } as unknown as EmulatedInstance,
  });

  test('live since the first listing as live; not live since it stopped, gone included', () => {
    const history = new ArmHistory();
    history.follow([view(ID_A, 'Healthy')], 100);
    history.follow([view(ID_A, 'Healthy')], 200);
    assert.deepEqual([history.state(ID_A).live, history.state(ID_A).since], [true, 100]);
    history.follow([view(ID_A, 'Unhealthy')], 300);
    history.follow([], 400);
    assert.deepEqual([history.state(ID_A).present, history.state(ID_A).live, history.state(ID_A).since], [false, false, 300]);
    assert.equal(history.state(ID_B).since, Number.NEGATIVE_INFINITY);
  });
});

describe('chaos hostile pushes: the answer each must get', () => {
  test('a wrong token must be refused for the token: FAILED_PRECONDITION (the index bound) is a problem', () => {
    assert.match(judgePushAnswer('bad-token', { status: 'FAILED_PRECONDITION', text: 'FAILED_PRECONDITION: index-ahead' }) ?? '', /must be UNAUTHENTICATED/);
    assert.equal(judgePushAnswer('bad-token', { status: 'UNAUTHENTICATED', text: 'UNAUTHENTICATED: bad token' }), undefined);
  });

  test('an inflated index must be refused by the bound', () => {
    assert.match(judgePushAnswer('inflated-index', { status: 'OK', text: 'OK orders:applied@1000000005' }) ?? '', /must be FAILED_PRECONDITION/);
    assert.equal(judgePushAnswer('inflated-index', { status: 'FAILED_PRECONDITION', text: 'FAILED_PRECONDITION: index-ahead' }), undefined);
  });

  test('garbage must not be accepted', () => {
    assert.ok(judgePushAnswer('garbage-payload', { status: 'OK', text: 'OK (garbage accepted)' }));
    assert.equal(judgePushAnswer('garbage-payload', { status: 'INTERNAL', text: 'INTERNAL: could not parse' }), undefined);
  });
});

describe('chaos report', () => {
  test('the reproduce command carries --classes and --bound-ms when they were given', () => {
    assert.equal(reproduceCommand({ seed: 9, faultsPlanned: 200, convergenceBoundMs: 15_000 }), 'npm run chaos -- --seed 9 --faults 200');
    assert.equal(
      reproduceCommand({ seed: 9, faultsPlanned: 50, classes: ['arm-404', 'consul-down'], convergenceBoundMs: 5_000, maxMs: 120_000 }),
      'npm run chaos -- --seed 9 --faults 50 --classes arm-404,consul-down --bound-ms 5000 --minutes 2',
    );
  });

  test('an overlapped run is reproduced with --overlap (and its timer period when not 10 s)', () => {
    assert.equal(reproduceCommand({ seed: 9, faultsPlanned: 200, convergenceBoundMs: 15_000, overlap: true }), 'npm run chaos -- --seed 9 --faults 200 --overlap');
    assert.equal(reproduceCommand({ seed: 9, faultsPlanned: 200, convergenceBoundMs: 15_000, overlap: true, timerSeconds: 5 }), 'npm run chaos -- --seed 9 --faults 200 --overlap --timer-seconds 5');
  });

  test('a class injected that reached nothing is named', () => {
    const rows = [{ ...emptyRow('consul-down'), injected: 3, reached: 0 }, { ...emptyRow('arm-404'), injected: 3, reached: 1 }, emptyRow('ARM actions (no fault)')];
    assert.deepEqual(unreachedClasses({ rows }), ['consul-down']);
  });

  test('the commonest errors of calls that reached no instance come from the windows (no call kept)', () => {
    const log = new NoEndpointLog(15_000);
    const miss = (service: string, at: number, error: string) => log.record({ service, startedAt: at, endedAt: at + 1, error }, { liveForMs: [], faultClass: 'x', step: 's' });
    miss('orders', 1, 'UNAVAILABLE: no healthy upstream');
    miss('orders', 2, 'UNAVAILABLE: no healthy upstream');
    log.reached({ service: 'orders', startedAt: 3, endedAt: 4, peer: '10.0.0.4' });
    miss('orders', 5, 'UNAVAILABLE: no healthy upstream');
    miss('billing', 6, 'DEADLINE_EXCEEDED: deadline');
    assert.deepEqual(log.commonestErrors(5), [
      ['orders: UNAVAILABLE: no healthy upstream', 3],
      ['billing: DEADLINE_EXCEEDED: deadline', 1],
    ]);
  });
});

describe('chaos batches (overlapped runs)', () => {
  const schedule = buildSchedule({ seed: 9, faults: 200, scaleSets: 2, maxCapacity: 5 });
  const batches = batchSteps(schedule);

  test('every step once, each lane in schedule order, at most one step per lane in a batch', () => {
    assert.deepEqual(new Set(batches.flat()), new Set(schedule));
    assert.equal(batches.flat().length, schedule.length);
    for (const batch of batches) assert.equal(new Set(batch.map(laneOf)).size, batch.length);
    const order = (steps: readonly Step[], lane: string) => steps.filter((s) => laneOf(s) === lane);
    // Every lane the schedule has (derived, so a renamed lane cannot leave this check empty).
    const lanes = new Set(schedule.map(laneOf));
    assert.ok(lanes.size >= 8, `lanes: ${[...lanes].join(', ')}`);
    for (const lane of lanes) {
      assert.ok(order(schedule, lane).length > 0);
      assert.deepEqual(order(batches.flat(), lane), order(schedule, lane), `lane ${lane} keeps the schedule's order`);
    }
    // Far fewer units than steps: what the overlap is for.
    assert.ok(batches.length < schedule.length / 2, `${batches.length} batches for ${schedule.length} steps`);
  });

  test('no batch holds two steps that conflict', () => {
    for (const batch of batches) for (const a of batch) for (const b of batch) if (a !== b) assert.equal(conflict(a, b), false);
  });

  const fault = (faultClass: Extract<Step, { kind: 'fault' }>['faultClass'], extra: Partial<Extract<Step, { kind: 'fault' }>> = {}): Step => ({ kind: 'fault', index: 0, faultClass, windowMs: 100, count: 1, pick: 0, seed: 1, ...extra });
  const scale = (set: number): Step => ({ kind: 'action', action: { kind: 'scale', set, capacity: 2 } });

  test('an ARM fault stays apart from a change of a scale set it meets, and from a health change (seen by the sweep only)', () => {
    const on404 = fault('arm-404', { pick: 0 }); // GET of orders
    assert.deepEqual(armFaultSets(on404, true), [0]);
    assert.equal(conflict(on404, scale(0)), true);
    assert.equal(conflict(on404, scale(1)), false);
    assert.equal(conflict(on404, { kind: 'action', action: { kind: 'fail', pick: 0.5 } }), true);
    assert.equal(conflict(on404, fault('event-loss', { action: { kind: 'scale', set: 0, capacity: 3 } })), true);
    assert.equal(conflict(on404, fault('push-bad-token', { pick: 0 })), true);
    assert.equal(changedSet(fault('push-bad-token', { pick: 0.9 })), 1);
    assert.equal(conflict(on404, fault('xds-huge-node')), false);
  });

  test('a push with an inflated index never shares a batch with a Consul fault (its answer needs Consul)', () => {
    assert.equal(conflict(fault('push-inflated-index'), fault('consul-down')), true);
    assert.equal(conflict(fault('consul-429'), fault('push-inflated-index')), true);
    assert.equal(conflict(fault('push-bad-token'), fault('consul-down')), false);
  });

  test('a step blocked now (its set still held by an earlier ARM fault) waits; the other lanes go on', () => {
    const planner = new BatchPlanner([scale(0), fault('consul-down')]);
    assert.deepEqual(planner.next((s) => s.kind === 'action'), [fault('consul-down')]);
    assert.deepEqual(planner.next((s) => s.kind === 'action'), []);
    assert.deepEqual(planner.next(), [scale(0)]);
    assert.equal(planner.done, true);
  });
});
