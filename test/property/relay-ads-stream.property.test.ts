/**
 * Properties of one ADS stream (SotW and Delta), driven without a network through a fake call by
 * a model client that follows the xDS rules: random snapshots, random subscription changes, ACKs
 * at random moments. Whatever the interleaving:
 *   - at most one unacknowledged response per kind is ever outstanding;
 *   - nonces are unique; no resource outside the client's interest is sent;
 *   - once the client has ACKed everything, it holds exactly the subscribed resources that exist,
 *     at their current versions;
 *   - after that, nothing is sent again, not even for a new snapshot with the same resources.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AdsMode } from '../../src/relay/ads/ads-hooks';
import type { DeltaRequest, SotwRequest } from '../../src/relay/ads/ads-requests';
import type { DeltaResponse, OutgoingResponse, SotwResponse } from '../../src/relay/ads/ads-responses';
import { AdsStream, type AdsStreamCall, type IncomingRequest } from '../../src/relay/ads/ads-stream';
import { TYPE_URLS } from '../../src/relay/xds/kinds';
import { RESOURCE_KINDS, type ResourceKind } from '../../src/relay/xds/resource-kind';
import { FakeSnapshotSource, type FakeWorld } from '../helpers/fake-snapshots';
import { DEFAULT_LIMITS } from '../../src/relay/limits/limit-settings';

const NAMES = ['a', 'b', 'c', 'd'] as const;
const FULL_SET: ReadonlySet<ResourceKind> = new Set(['listener', 'cluster']);

class FakeCall extends EventEmitter implements AdsStreamCall {
  readonly written: OutgoingResponse[] = [];
  write(response: OutgoingResponse): boolean {
    this.written.push(response);
    return true;
  }
  end(): void {
    this.emit('ended');
  }
  getPeer(): string {
    return 'model';
  }
}

type Interest = { wildcard: boolean; names: Set<string> };

/**
 * A client that keeps its state per kind and answers as Envoy / grpc-js-xds would. It handles a
 * response when a test says so (`ack`), so subscription changes can cross responses on the wire:
 * they carry the nonce of the last response the client handled, which may be stale.
 */
class ModelClient {
  readonly holds: Record<ResourceKind, Map<string, string>> = { cluster: new Map(), endpoint: new Map(), listener: new Map(), route: new Map() };
  readonly interest: Record<ResourceKind, Interest | undefined> = { cluster: undefined, endpoint: undefined, listener: undefined, route: undefined };
  /** Received, not yet handled. */
  readonly pending: Record<ResourceKind, OutgoingResponse | undefined> = { cluster: undefined, endpoint: undefined, listener: undefined, route: undefined };
  /** Nonce of the last response handled. */
  readonly handledNonce: Record<ResourceKind, string> = { cluster: '', endpoint: '', listener: '', route: '' };
  /** SotW: a name (or "*") was sent, so an empty list no longer means the legacy wildcard. */
  readonly explicit: Record<ResourceKind, boolean> = { cluster: false, endpoint: false, listener: false, route: false };
  readonly nonces = new Set<string>();
  private read = 0;
  private sentNode = false;

  constructor(
    readonly mode: AdsMode,
    readonly call: FakeCall,
  ) {}

  private send(request: SotwRequest | DeltaRequest): void {
    const withNode = this.sentNode ? request : { ...request, node: { id: 'model', cluster: '', userAgentName: 'envoy', metadata: {} } };
    this.sentNode = true;
    this.call.emit('data', withNode as IncomingRequest);
    this.receive();
  }

  /** Takes what the server wrote since the last look, checking the per-response invariants. */
  receive(): void {
    while (this.read < this.call.written.length) {
      const outgoing = this.call.written[this.read++]!;
      const kind = outgoing.response.kind;
      assert.equal(this.pending[kind], undefined, `a second ${kind} response before the first was ACKed`);
      assert.ok(!this.nonces.has(outgoing.response.nonce), 'nonces are unique');
      this.nonces.add(outgoing.response.nonce);
      const interest = this.interest[kind];
      assert.ok(interest, `a ${kind} response without a subscription`);
      for (const r of outgoing.response.resources) {
        // SotW clusters may still carry the ones about to be removed (make before break).
        const staleKept = this.mode === 'sotw' && kind === 'cluster' && this.holds.cluster.has(r.name);
        assert.ok(this.covers(kind, r.name) || staleKept, `${kind} ${r.name} was not asked for`);
      }
      this.pending[kind] = outgoing;
    }
  }

  private covers(kind: ResourceKind, name: string): boolean {
    const interest = this.interest[kind];
    return !!interest && (interest.wildcard || interest.names.has(name));
  }

  /** Clients ignore resources they did not ask for (a response may cross an unsubscription). */
  private apply(outgoing: OutgoingResponse): void {
    const kind = outgoing.response.kind;
    const holds = this.holds[kind];
    if (this.mode === 'sotw' && FULL_SET.has(kind)) holds.clear();
    for (const r of outgoing.response.resources) if (this.covers(kind, r.name)) holds.set(r.name, r.version);
    if (this.mode === 'delta') for (const name of (outgoing.response as DeltaResponse).removed) holds.delete(name);
  }

  /** Handles the pending response of a kind and ACKs it. */
  ack(kind: ResourceKind): void {
    const outgoing = this.pending[kind];
    if (!outgoing) return;
    this.apply(outgoing);
    this.pending[kind] = undefined;
    const response = outgoing.response;
    this.handledNonce[kind] = response.nonce;
    if (this.mode === 'sotw') {
      this.send({ mode: 'sotw', versionInfo: (response as SotwResponse).versionInfo, resourceNames: this.sotwNames(kind), typeUrl: TYPE_URLS[kind], responseNonce: response.nonce });
    } else {
      this.send({ mode: 'delta', typeUrl: TYPE_URLS[kind], subscribe: [], unsubscribe: [], initialResourceVersions: new Map(), responseNonce: response.nonce });
    }
  }

  private sotwNames(kind: ResourceKind): string[] {
    const interest = this.interest[kind]!;
    if (interest.wildcard && !this.explicit[kind]) return []; // the legacy wildcard, as Envoy sends it
    return [...(interest.wildcard ? ['*'] : []), ...interest.names];
  }

  /** Sets the subscription of a kind to `wanted` (SotW: the full list; Delta: the difference). */
  subscribe(kind: ResourceKind, wanted: Interest): void {
    const before = this.interest[kind];
    const empty = !wanted.wildcard && wanted.names.size === 0;
    // An empty request of a wildcard-capable kind is the legacy wildcard: in SotW while no name
    // was ever sent, in Delta on the first request only.
    const legacy = FULL_SET.has(kind) && empty && (this.mode === 'sotw' ? !this.explicit[kind] : !before);
    const next: Interest = legacy ? { wildcard: true, names: new Set() } : wanted;
    if (this.mode === 'sotw') {
      if (!legacy) this.explicit[kind] = true;
      this.interest[kind] = next;
      for (const name of [...this.holds[kind].keys()]) if (!this.covers(kind, name)) this.holds[kind].delete(name);
      this.send({ mode: 'sotw', versionInfo: '', resourceNames: this.sotwNames(kind), typeUrl: TYPE_URLS[kind], responseNonce: this.handledNonce[kind] });
      return;
    }
    const subscribe: string[] = [];
    const unsubscribe: string[] = [];
    if (next.wildcard && !before?.wildcard && !legacy) subscribe.push('*');
    if (!next.wildcard && before?.wildcard) unsubscribe.push('*');
    for (const name of next.names) if (!before?.names.has(name)) subscribe.push(name);
    for (const name of before?.names ?? []) if (!next.names.has(name)) unsubscribe.push(name);
    if (before && subscribe.length === 0 && unsubscribe.length === 0) return;
    this.interest[kind] = next;
    // Unsubscribed names are dropped, unless the wildcard may still cover them (the server says).
    for (const name of [...this.holds[kind].keys()]) if (!this.covers(kind, name)) this.holds[kind].delete(name);
    this.send({ mode: 'delta', typeUrl: TYPE_URLS[kind], subscribe, unsubscribe, initialResourceVersions: new Map(), responseNonce: '' });
  }

  /** ACKs until nothing more comes. */
  settle(): void {
    for (let guard = 0; guard < 100; guard++) {
      const kind = RESOURCE_KINDS.find((k) => this.pending[k]);
      if (!kind) return;
      this.ack(kind);
    }
    assert.fail('the stream never settled');
  }
}

const worldArb: fc.Arbitrary<FakeWorld> = fc.record({
  cluster: fc.dictionary(fc.constantFrom(...NAMES), fc.integer({ min: 1, max: 3 })),
  endpoint: fc.dictionary(fc.constantFrom(...NAMES), fc.integer({ min: 1, max: 3 })),
  listener: fc.dictionary(fc.constantFrom(...NAMES), fc.integer({ min: 1, max: 3 })),
  route: fc.dictionary(fc.constantFrom(...NAMES), fc.integer({ min: 1, max: 3 })),
});

const kindArb = fc.constantFrom(...RESOURCE_KINDS);
const interestArb = (kind: ResourceKind): fc.Arbitrary<Interest> =>
  fc.record({
    wildcard: FULL_SET.has(kind) ? fc.boolean() : fc.constant(false),
    names: fc.subarray([...NAMES]).map((n) => new Set<string>(n)),
  });

type Command = { op: 'publish'; world: FakeWorld } | { op: 'subscribe'; kind: ResourceKind; interest: Interest } | { op: 'ack'; kind: ResourceKind };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  worldArb.map((world) => ({ op: 'publish' as const, world })),
  kindArb.chain((kind) => interestArb(kind).map((interest) => ({ op: 'subscribe' as const, kind, interest }))),
  kindArb.map((kind) => ({ op: 'ack' as const, kind })),
);

function runScenario(mode: AdsMode, initial: FakeWorld, commands: readonly Command[]): void {
  const source = new FakeSnapshotSource({ world: initial });
  const call = new FakeCall();
  let clock = 0;
  const stream = new AdsStream(1, mode, call, {
    source,
    hooks: undefined,
    minSendIntervalMs: 0,
    noncePrefix: 'p.',
    limits: DEFAULT_LIMITS,
    now: () => ++clock,
    opened: () => undefined,
    closed: () => undefined,
  });
  const client = new ModelClient(mode, call);
  let world = initial;
  for (const command of commands) {
    if (command.op === 'publish') {
      world = command.world;
      source.publish(world);
      stream.pump();
      client.receive();
    } else if (command.op === 'subscribe') {
      client.subscribe(command.kind, command.interest);
    } else {
      client.ack(command.kind);
    }
  }
  client.settle();
  assert.ok(!stream.isOver, 'the stream is still open');

  const snapshot = source.current('envoy-gateway');
  for (const kind of RESOURCE_KINDS) {
    const interest = client.interest[kind];
    if (!interest) continue;
    const desired = new Map<string, string>();
    for (const [name, r] of snapshot.resources[kind]) if (interest.wildcard || interest.names.has(name)) desired.set(name, r.version);
    const held = new Map(client.holds[kind]);
    // SotW cannot delete routes and endpoints: only the ones that still exist must match.
    if (mode === 'sotw' && !FULL_SET.has(kind)) for (const name of [...held.keys()]) if (!snapshot.resources[kind].has(name)) held.delete(name);
    assert.deepEqual(held, desired, `${mode} ${kind}: the client holds what it subscribed to`);
  }

  // A new snapshot version with the same resources sends nothing.
  const written = call.written.length;
  source.publish(world);
  stream.pump();
  assert.equal(call.written.length, written, 'nothing is resent');
}

const none: FakeWorld = { cluster: {}, endpoint: {}, listener: {}, route: {} };
const sub = (kind: ResourceKind, names: string[], wildcard = false): Command => ({ op: 'subscribe', kind, interest: { wildcard, names: new Set(names) } });
const publish = (w: FakeWorld): Command => ({ op: 'publish', world: { ...none, ...w } });
const ack = (kind: ResourceKind): Command => ({ op: 'ack', kind });

/** Counterexamples fast-check found once (each was a real bug or a model mistake); always run. */
const EXAMPLES: Array<[FakeWorld, Command[]]> = [
  // SotW: a client newly naming a resource it holds must still learn of its deletion.
  [none, [sub('listener', []), publish({ listener: { a: 1 } }), ack('listener'), publish({}), sub('listener', ['a'])]],
  // SotW: a stale request with names ends the legacy wildcard all the same.
  [none, [sub('listener', []), sub('listener', ['d']), publish({ listener: { a: 1 } }), sub('listener', [])]],
  // SotW: names dropped by a stale request are resent when asked for again.
  [{ ...none, route: { a: 1 } }, [sub('route', ['a', 'b']), ack('route'), publish({ route: { a: 1, b: 1 } }), sub('route', []), sub('route', ['a'])]],
  // Delta: an unsubscription crossing a response; only what that response carries may stay.
  [{ ...none, listener: { a: 1 } }, [sub('listener', []), sub('listener', []), publish({}), sub('listener', [], true)]],
  [{ ...none, listener: { a: 1 } }, [sub('listener', []), ack('listener'), publish({ listener: { a: 1, b: 1 } }), sub('listener', []), sub('listener', [], true)]],
];

for (const mode of ['sotw', 'delta'] as const) {
  test(`${mode}: any interleaving of snapshots, subscriptions and ACKs converges without resends`, () => {
    fc.assert(
      fc.property(worldArb, fc.array(commandArb, { maxLength: 40 }), (initial, commands) => runScenario(mode, initial, commands)),
      // RUNS and SEED (as printed by a failure) replay or widen the search.
      { numRuns: Number(process.env.RUNS ?? 400), examples: EXAMPLES, ...(process.env.SEED ? { seed: Number(process.env.SEED) } : {}) },
    );
  });
}
