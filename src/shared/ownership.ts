/**
 * The one place that knows our ownership marks and naming (principle 3: touch only what we own).
 * Anything in Consul without these marks is never read into our model, modified or removed.
 */
import { createHash } from 'node:crypto';

export const EXTERNAL_SOURCE = 'vmss-mesh';

/** The instance's identity, under the same keys on its node and on each of its services. */
const INSTANCE_META = {
  scaleSetId: 'vmss-mesh-scale-set',
  instanceId: 'vmss-mesh-instance',
  zone: 'vmss-mesh-zone',
} as const;

export const NODE_META = {
  externalSource: 'external-source',
  externalNode: 'external-node',
  externalProbe: 'external-probe',
  ...INSTANCE_META,
  /**
   * Set (to the run ID) when we release a node that also carries someone else's services or checks
   * (consul/plan-units.ts): only a node with this mark is ever taken back. A node someone registered
   * by hand with our scale-set and instance keys but without it is not ours and is left alone.
   */
  released: 'vmss-mesh-released',
} as const;

/** Node meta every owned node carries. */
export const OWNED_NODE_META: Readonly<Record<string, string>> = {
  [NODE_META.externalSource]: EXTERNAL_SOURCE,
  [NODE_META.externalNode]: 'true',
  [NODE_META.externalProbe]: 'true',
};

/** Tag every owned service carries. */
export const SERVICE_TAG = 'vmss-mesh';

export const SERVICE_META = {
  ...INSTANCE_META,
  instanceName: 'vmss-mesh-instance-name',
  protocol: 'vmss-mesh-protocol',
  healthPath: 'vmss-mesh-health-path',
} as const;

/** Node-level check carrying Azure's view of the instance. */
export const AZURE_CHECK_ID = 'vmss-mesh:azure';
export const AZURE_CHECK_NAME = 'Azure instance state';
/** Consul's own ID for node maintenance mode; we set it while an instance is Deleting (drain). */
export const MAINTENANCE_CHECK_ID = '_node_maintenance';
export const MAINTENANCE_CHECK_NAME = 'Node Maintenance Mode';

/**
 * Node checks consul-esm itself keeps on our nodes. Our nodes carry `external-probe=true`, and for
 * every such node ESM pings the address and registers (SkipNodeUpdate) a node check with CheckID
 * `externalNodeHealth` ("External Node Status"; hashicorp/consul-esm coordinate.go, README
 * "external-probe"). It exists because of our mark, so it is part of our node and not someone
 * else's entry: it neither makes the node shared (a scale-in deletes the node whole, the check with
 * it) nor is it ever written by us. ESM adds nothing else to the nodes it watches (its probe
 * state lives in its own KV prefix; checks with a `Definition` are registered by their owners).
 */
export const ESM_NODE_CHECKS: ReadonlySet<string> = new Set(['externalNodeHealth']);

export function isOwnedNodeMeta(meta: Readonly<Record<string, string>> | null | undefined): boolean {
  return meta?.[NODE_META.externalSource] === EXTERNAL_SOURCE;
}

/**
 * A node that is ours or was ours: our source mark, or our released mark (we let it go because
 * it also carries someone else's entries, and may take it back). Its meta and our entries on it
 * are the mesh's business; what else sits on it is someone else's.
 */
export function isOwnedOrReleasedNodeMeta(meta: Readonly<Record<string, string>> | null | undefined): boolean {
  return isOwnedNodeMeta(meta) || (meta !== null && meta !== undefined && NODE_META.released in meta);
}

/**
 * Deterministic Consul node name for a VM: readable VM name plus a hash of its resource ID, so two
 * scale sets with the same name in different resource groups never collide. DNS-safe, ≤ 63 chars.
 */
export function nodeNameFor(vmName: string, instanceResourceId: string): string {
  const hash = resourceIdHash(instanceResourceId.toLowerCase());
  const readable = vmName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63 - 1 - hash.length);
  return readable ? `${readable}-${hash}` : `vm-${hash}`;
}

/**
 * The first 10 hex digits of SHA-256 of a lower-cased resource ID, remembered: every run names every
 * instance of its scale set (a sweep of 10,000 instances spent 20–45 ms hashing the same IDs). Bounded:
 * past MAX_HASHES entries the memory starts over.
 */
const hashes = new Map<string, string>();
const MAX_HASHES = 200_000;

function resourceIdHash(lowerCaseId: string): string {
  let hash = hashes.get(lowerCaseId);
  if (hash === undefined) {
    if (hashes.size >= MAX_HASHES) hashes.clear();
    hash = createHash('sha256').update(lowerCaseId).digest('hex').slice(0, 10);
    hashes.set(lowerCaseId, hash);
  }
  return hash;
}

/** KV layout under the configured prefix (default `vmss-mesh`). */
export function scaleSetKey(scaleSetId: string): string {
  // `/subscriptions/S/resourcegroups/R/providers/microsoft.compute/virtualmachinescalesets/N` → `S/R/N`
  const parts = scaleSetId.toLowerCase().split('/').filter(Boolean);
  return `${parts[1]}/${parts[3]}/${parts[7]}`;
}

export function markerKey(prefix: string, scaleSetId: string): string {
  return `${prefix}/scale-sets/${scaleSetKey(scaleSetId)}`;
}

export function tombstoneKey(prefix: string, scaleSetId: string, nodeName: string): string {
  return `${prefix}/tombstones/${scaleSetKey(scaleSetId)}/${nodeName}`;
}
