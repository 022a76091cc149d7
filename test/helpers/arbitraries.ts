/**
 * fast-check arbitraries for the domain: scale sets, their instances as ARM lists them, and the
 * owned nodes Consul would hold for them. Shared by every property test; identities are derived
 * from small indexes so that generated worlds overlap (same instance before and after a change).
 */
import fc from 'fast-check';
import type { AppHealthState, Instance, MeshProtocol, MeshScaleSet, MeshServiceSpec, OwnedNode, ScaleSetRef } from '../../src/shared/model';
import { NODE_META } from '../../src/shared/ownership';
import { desiredNodes, nodeNameOf } from '../../src/shared/planner/desired-state';

export const protocolArb: fc.Arbitrary<MeshProtocol> = fc.constantFrom('http', 'grpc', 'tcp');

/** Drawn from a small pool so that two generated service lists often share names. */
export const serviceNameArb: fc.Arbitrary<string> = fc.constantFrom('web', 'api', 'orders', 'grpc-echo', 'cart');

export const meshServiceSpecArb: fc.Arbitrary<MeshServiceSpec> = fc.record(
  {
    name: serviceNameArb,
    port: fc.integer({ min: 1, max: 65535 }),
    protocol: protocolArb,
    healthPath: fc.constantFrom('/healthz', '/ready'),
  },
  { requiredKeys: ['name', 'port', 'protocol'] },
);

/** Service lists with unique names, as the tag parser produces them. */
export function meshServicesArb(options: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<MeshServiceSpec[]> {
  return fc.uniqueArray(meshServiceSpecArb, { selector: (s) => s.name, minLength: options.minLength ?? 1, maxLength: options.maxLength ?? 3 });
}

export const scaleSetRefArb: fc.Arbitrary<ScaleSetRef> = fc
  .record({
    subscriptionId: fc.uuid(),
    resourceGroup: fc.constantFrom('rg-mesh', 'rg-edge', 'rg-a'),
    name: fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/),
  })
  .map((r) => ({
    ...r,
    id: `/subscriptions/${r.subscriptionId}/resourcegroups/${r.resourceGroup}/providers/microsoft.compute/virtualmachinescalesets/${r.name}`.toLowerCase(),
  }));

export function meshScaleSetArb(options: { ref?: fc.Arbitrary<ScaleSetRef>; services?: fc.Arbitrary<MeshServiceSpec[]> } = {}): fc.Arbitrary<MeshScaleSet> {
  return fc.record({
    ref: options.ref ?? scaleSetRefArb,
    orchestrationMode: fc.constantFrom('Uniform' as const, 'Flexible' as const),
    capacity: fc.integer({ min: 0, max: 12 }),
    location: fc.constantFrom('westeurope', 'eastus2'),
    tags: fc.constant({}),
    services: options.services ?? meshServicesArb(),
  });
}

const privateIpArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.nat(255), fc.nat(255), fc.integer({ min: 4, max: 254 })).map(([a, b, c]) => `10.${a}.${b}.${c}`) },
  { weight: 1, arbitrary: fc.ipV6() },
);

/** Everything about an instance that may change while it keeps its identity. */
export type InstanceStateFields = Pick<Instance, 'privateIps' | 'zone' | 'faultDomain' | 'provisioningState' | 'powerState' | 'healthState'>;

export const instanceStateArb: fc.Arbitrary<InstanceStateFields> = fc.record(
  {
    privateIps: fc.oneof(
      { weight: 8, arbitrary: fc.array(privateIpArb, { minLength: 1, maxLength: 2 }) },
      { weight: 1, arbitrary: fc.constant([]) },
    ),
    zone: fc.constantFrom('1', '2', '3'),
    faultDomain: fc.integer({ min: 0, max: 4 }),
    provisioningState: fc.constantFrom('Succeeded', 'Succeeded', 'Succeeded', 'Updating', 'Creating', 'Failed', 'Deleting', 'Canceled'),
    powerState: fc.constantFrom('running', 'running', 'running', 'starting', 'stopped', 'deallocated', 'deallocating', 'unknown'),
    healthState: fc.constantFrom<AppHealthState>('Healthy', 'Healthy', 'Unhealthy', 'Unknown', 'Initializing'),
  },
  { requiredKeys: ['privateIps', 'provisioningState', 'powerState'] },
);

/** The instance with index `index` of the scale set `ref`, in a given state. */
export function instanceAt(ref: ScaleSetRef, index: number, state: InstanceStateFields): Instance {
  return {
    name: `${ref.name}_${index}`,
    instanceId: String(index),
    resourceId: `${ref.id}/virtualmachines/${index}`,
    ...state,
  };
}

export function instanceArb(ref: ScaleSetRef): fc.Arbitrary<Instance> {
  return fc.tuple(fc.nat(99), instanceStateArb).map(([index, state]) => instanceAt(ref, index, state));
}

/** Instances of one scale set, each identity at most once. */
export function instancesArb(ref: ScaleSetRef, options: { maxLength?: number } = {}): fc.Arbitrary<Instance[]> {
  return fc.uniqueArray(instanceArb(ref), { selector: (i) => i.resourceId, maxLength: options.maxLength ?? 8 });
}

/** Nodes Consul holds for `scaleSet` after registering `instances` (what a previous reconcile wrote). */
export function ownedNodesFor(scaleSet: MeshScaleSet, instances: readonly Instance[], modifyIndex = 1): OwnedNode[] {
  return desiredNodes(scaleSet, instances).nodes.map((node, i) => ({ ...node, nodeModifyIndex: modifyIndex + i }));
}

/** One owned node of `scaleSet` (or of a generated scale set). */
export function ownedNodeArb(scaleSet?: MeshScaleSet): fc.Arbitrary<OwnedNode> {
  const scaleSetArb = scaleSet ? fc.constant(scaleSet) : meshScaleSetArb();
  return scaleSetArb
    .chain((s) => fc.tuple(fc.constant(s), instanceArb(s.ref).filter((i) => i.privateIps.length > 0), fc.integer({ min: 1, max: 1_000_000 })))
    .map(([s, instance, modifyIndex]) => ownedNodesFor(s, [instance], modifyIndex)[0] as OwnedNode);
}

/**
 * A scale set seen twice: `previous` is what a past reconcile registered (→ `actual`), `scaleSet`
 * and `listing` are what ARM says now. Instances may have vanished, appeared or changed state;
 * the service list may have changed. `foreign` holds nodes the plan must never touch.
 */
export interface PlannerWorld {
  readonly scaleSet: MeshScaleSet;
  readonly previousScaleSet: MeshScaleSet;
  readonly listing: Instance[];
  readonly actual: OwnedNode[];
  readonly foreign: OwnedNode[];
  readonly tombstones: string[];
  readonly confirmedGone: string[];
  readonly maxRemovalShare: number;
}

const rarelyTrue: fc.Arbitrary<boolean> = fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });

interface PoolEntry {
  readonly index: number;
  readonly before: InstanceStateFields;
  readonly now: InstanceStateFields;
  readonly wasRegistered: boolean;
  readonly isListed: boolean;
  /** The instance appears twice in the listing: `same` (overlapping pages) or `stale` (a second entry in its `before` state). */
  readonly listedTwice: 'no' | 'same' | 'stale';
}

const poolEntryArb: fc.Arbitrary<PoolEntry> = fc.record({
  index: fc.nat(40),
  before: instanceStateArb,
  // Unchanged, one field changed, or anything: "nothing to do" and single changes are both well represented.
  now: fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.tuple(instanceStateArb, fc.constantFrom<keyof InstanceStateFields>('privateIps', 'zone', 'provisioningState', 'powerState', 'healthState')) },
    { weight: 1, arbitrary: instanceStateArb },
  ),
  wasRegistered: fc.boolean(),
  isListed: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  listedTwice: fc.oneof({ weight: 16, arbitrary: fc.constant('no' as const) }, { weight: 1, arbitrary: fc.constantFrom('same' as const, 'stale' as const) }),
}).map((e) => ({
  ...e,
  now: e.now === undefined ? e.before : Array.isArray(e.now) ? { ...e.before, [e.now[1]]: e.now[0][e.now[1]] } : e.now,
}));

export const maxRemovalShareArb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0.1, 0.25, 0.5, 1),
  fc.double({ min: 0.01, max: 1, noNaN: true, noDefaultInfinity: true }),
);

export function plannerWorldArb(options: { maxInstances?: number; maxRemovalShare?: fc.Arbitrary<number> } = {}): fc.Arbitrary<PlannerWorld> {
  return fc
    .record({
      ref: scaleSetRefArb,
      otherRef: scaleSetRefArb,
      servicesBefore: meshServicesArb({ minLength: 1 }),
      servicesNow: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: meshServicesArb({ minLength: 0 }) }),
      capacity: fc.integer({ min: 0, max: 12 }),
      pool: fc.uniqueArray(poolEntryArb, { selector: (e) => e.index, maxLength: options.maxInstances ?? 10 }),
      foreignStates: fc.array(instanceStateArb, { maxLength: 2 }),
      withUnowned: fc.boolean(),
      // Indexed by pool entry index (0..40): which instances are tombstoned / confirmed gone.
      tombstoneMask: fc.array(rarelyTrue, { minLength: 41, maxLength: 41 }),
      goneMask: fc.array(rarelyTrue, { minLength: 41, maxLength: 41 }),
      maxRemovalShare: options.maxRemovalShare ?? maxRemovalShareArb,
    })
    .filter((w) => w.otherRef.id !== w.ref.id)
    .map((w) => {
      const base = { ref: w.ref, orchestrationMode: 'Uniform' as const, location: 'westeurope', tags: {} };
      const previousScaleSet: MeshScaleSet = { ...base, capacity: w.capacity, services: w.servicesBefore };
      // null: the service list did not change (the common case).
      const scaleSet: MeshScaleSet = { ...base, capacity: w.capacity, services: w.servicesNow ?? w.servicesBefore };
      const before = w.pool.filter((e, i) => e.wasRegistered && !(w.withUnowned && i === 0)).map((e) => instanceAt(w.ref, e.index, e.before));
      const listing = w.pool.filter((e) => e.isListed).flatMap((e) => {
        const instance = instanceAt(w.ref, e.index, e.now);
        if (e.listedTwice === 'same') return [instance, { ...instance }];
        if (e.listedTwice === 'stale') return [instance, instanceAt(w.ref, e.index, e.before)];
        return [instance];
      });
      const otherScaleSet: MeshScaleSet = { ...base, ref: w.otherRef, capacity: 1, services: w.servicesBefore };
      const foreign = ownedNodesFor(otherScaleSet, w.foreignStates.map((s, i) => instanceAt(w.otherRef, i, s)), 500);
      if (w.withUnowned) {
        // Somebody else's node under the name one of our instances maps to: it must never be touched or overwritten.
        const index = w.pool[0]?.index ?? 99;
        const unowned = ownedNodesFor(previousScaleSet, [instanceAt(w.ref, index, { privateIps: ['10.9.9.9'], provisioningState: 'Succeeded', powerState: 'running' })], 900)[0];
        if (unowned) {
          const { [NODE_META.externalSource]: _dropped, ...meta } = unowned.nodeMeta;
          foreign.push({ ...unowned, nodeMeta: meta });
        }
      }
      return {
        scaleSet,
        previousScaleSet,
        listing,
        actual: ownedNodesFor(previousScaleSet, before),
        foreign,
        tombstones: w.pool.filter((e) => w.tombstoneMask[e.index]).map((e) => nodeNameOf(instanceAt(w.ref, e.index, e.before))),
        confirmedGone: w.pool.filter((e) => w.goneMask[e.index]).map((e) => instanceAt(w.ref, e.index, e.before).resourceId),
        maxRemovalShare: w.maxRemovalShare,
      };
    });
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs for the parsers' fuzz tests (test/fuzz): near-valid values with one thing wrong,
// and raw text / bytes.

type JsonLike = null | boolean | number | string | JsonLike[] | { [key: string]: JsonLike };

/** Values of the wrong type (or shape) for any field. */
export const wrongJsonValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, '', ' ', '\u0000', '1.0', [], {}),
  fc.string({ maxLength: 12 }),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
);

/**
 * `base` with one to three edits at random places: a field replaced by a wrong value, a field
 * removed, an object turned into an array (or wrapped in one), a string cut or re-cased.
 */
export function mutatedJsonArb(base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const edit = fc.record({ at: fc.nat(), kind: fc.nat(5), value: wrongJsonValueArb, cut: fc.nat() });
  return fc.tuple(base, fc.array(edit, { minLength: 1, maxLength: 3 })).map(([value, edits]) => {
    let copy = JSON.parse(JSON.stringify(value ?? null)) as JsonLike;
    for (const e of edits) copy = applyEdit(copy, e);
    return copy;
  });
}

interface JsonEdit {
  readonly at: number;
  readonly kind: number;
  readonly value: unknown;
  readonly cut: number;
}

function applyEdit(root: JsonLike, edit: JsonEdit): JsonLike {
  // Every (container, key) in the value, root first.
  const slots: Array<{ parent: JsonLike[] | { [key: string]: JsonLike }; key: string | number }> = [];
  const walk = (node: JsonLike) => {
    if (Array.isArray(node)) node.forEach((child, i) => (slots.push({ parent: node, key: i }), walk(child)));
    else if (node !== null && typeof node === 'object') for (const [k, child] of Object.entries(node)) slots.push({ parent: node, key: k }), walk(child);
  };
  walk(root);
  if (slots.length === 0 || edit.kind === 5) return edit.kind === 5 ? [root] : (edit.value as JsonLike);
  const slot = slots[edit.at % slots.length] as (typeof slots)[number];
  const parent = slot.parent as Record<string | number, JsonLike>;
  const current = parent[slot.key] as JsonLike;
  switch (edit.kind) {
    case 0:
      parent[slot.key] = edit.value as JsonLike;
      break;
    case 1:
      if (Array.isArray(slot.parent)) slot.parent.splice(Number(slot.key), 1);
      else delete parent[slot.key];
      break;
    case 2:
      parent[slot.key] = Array.isArray(current) ? { ...current } : [current];
      break;
    case 3:
      parent[slot.key] = typeof current === 'string' ? current.slice(0, edit.cut % (current.length + 1)) : (edit.value as JsonLike);
      break;
    default:
      parent[slot.key] = typeof current === 'string' ? current.toUpperCase() : String(current);
  }
  return root;
}

/** What a hostile body parses to: any JSON, or the JSON of a random (often invalid) text. */
export const rawJsonInputArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.string({ maxLength: 80, unit: 'binary' }).map((text) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }),
);

/** `base` bytes damaged: truncated, bytes flipped, random bytes inserted, or two messages glued. */
export function mutatedBytesArb(base: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(base, fc.nat(3), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([bytes, kind, at, xor, extra]) => {
    const out = Uint8Array.from(bytes);
    const i = out.length === 0 ? 0 : at % out.length;
    if (kind === 0) return out.subarray(0, i);
    if (kind === 1 && out.length > 0) out[i] = (out[i] as number) ^ xor;
    if (kind === 2) return Uint8Array.from([...out.subarray(0, i), ...extra, ...out.subarray(i)]);
    if (kind === 3) return Uint8Array.from([...out, ...out.subarray(0, i)]);
    return out;
  });
}
