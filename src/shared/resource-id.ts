/**
 * The one parser for ARM resource IDs. ARM treats IDs case-insensitively and both spellings
 * (`resourceGroups` / `resourcegroups`, `Microsoft.Compute` / `microsoft.compute`) occur in real
 * payloads, so everything is normalised to lower case once, here, and compared as strings after.
 *
 * Grammar accepted (segments separated by single `/`, one trailing `/` tolerated):
 *   /subscriptions/{sub}
 *   [/resourceGroups/{rg}]
 *   [/providers/{Namespace}/{type}/{name}[/{type}/{name}]…]      ← a resource and its children
 *   [/providers/{Namespace}/{type}/{name}…]…                      ← extension resources on it
 */
import { InvalidInputError, shortened } from './errors';
import type { ReconcileTarget, ScaleSetRef } from './model';

/** One `/providers/{namespace}/{type}/{name}…` run of an ID. All lower-case. */
export interface ProviderScope {
  /** e.g. `microsoft.compute`. */
  readonly namespace: string;
  /** e.g. `['virtualmachinescalesets', 'virtualmachines']`. */
  readonly types: readonly string[];
  /** Same length as `types`: e.g. `['web', '3']`. */
  readonly names: readonly string[];
}

export interface ResourceId {
  /** The whole ID, lower-case, no trailing slash. */
  readonly id: string;
  readonly subscriptionId: string;
  /** Absent for subscription-level IDs. */
  readonly resourceGroup?: string;
  /** Empty for a subscription or resource group ID; more than one for extension resources. */
  readonly providers: readonly ProviderScope[];
}

// Subscription IDs are GUIDs in Azure (36 characters); docs samples and tests use placeholders like
// `s1`, so any alphanumeric-and-dash token up to a GUID's length is accepted. Resource group names:
// 1–90 of letters, digits, `_ - . ( )`, not ending in a period (ARM's rule). Namespaces look like
// `Microsoft.Compute`; types are identifiers.
const SUBSCRIPTION = /^[0-9a-z][0-9a-z-]{0,35}$/i;
const RESOURCE_GROUP = /^[-\w.()\p{L}\p{N}]{1,90}$/u;
const NAMESPACE = /^[a-z][a-z0-9]*(\.[a-z][a-z0-9]*)+$/i;
const TYPE = /^[a-z][a-z0-9]*$/i;
// Resource names vary by type (some allow spaces); only what cannot be part of an ID path is refused.
const NAME = /^[^\u0000-\u001f\u007f?#]+$/;

/**
 * ARM's own limits, so an ID ARM could never serve is refused here as invalid input instead of
 * being sent to ARM (which answers 400/414/431) and retried for a day (issue 9, D5):
 * - names of scale sets and VMs: 1–64 (Azure naming rules, Microsoft.Compute: virtualMachines and
 *   virtualMachineScaleSets 1–64 on Linux, 1–15 on Windows — the Windows limit is the computer
 *   name's, not the resource's, so 64 is the bound);
 * - any other segment: 260, the URL segment length HTTP.sys (ARM's front end) accepts by default,
 *   also the longest name Azure's naming rules allow for any type;
 * - the whole ID: 2,048. The longest compute ID we act on (a scale set VM's NIC IP configuration,
 *   every name at its maximum) is under 700 characters; 2,048 leaves room for extension resources
 *   and is the URL length common HTTP front ends accept, so a longer ID cannot be read from ARM.
 */
export const RESOURCE_ID_LIMITS = {
  idLength: 2048,
  segmentLength: 260,
  computeNameLength: { virtualmachinescalesets: 64, virtualmachines: 64 } as Readonly<Record<string, number>>,
} as const;

export function isSubscriptionId(value: string): boolean {
  return SUBSCRIPTION.test(value);
}

export function isResourceGroupName(value: string): boolean {
  return RESOURCE_GROUP.test(value) && !value.endsWith('.');
}

function fail(id: string, why: string, path: string): never {
  throw new InvalidInputError(`not an ARM resource ID (${why}): ${JSON.stringify(shortened(id))}`, path);
}

/**
 * Parses and normalises an ARM resource ID. Throws `InvalidInputError` (carrying `path`, the JSON
 * path of the field the ID came from) for anything that is not one.
 */
export function parseResourceId(raw: unknown, path = ''): ResourceId {
  if (typeof raw !== 'string') throw new InvalidInputError(`expected a resource ID string, got ${raw === null ? 'null' : typeof raw}`, path);
  if (raw.length > RESOURCE_ID_LIMITS.idLength) fail(raw, `longer than ${RESOURCE_ID_LIMITS.idLength} characters (${raw.length})`, path);
  const text = raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
  if (!text.startsWith('/')) fail(raw, 'must start with /subscriptions/', path);
  const segments = text.slice(1).split('/');
  const at = (i: number): string => segments[i] ?? '';
  const empty = segments.indexOf('');
  if (empty !== -1) fail(raw, `empty segment at position ${empty + 1}`, path);
  const long = segments.findIndex((segment) => segment.length > RESOURCE_ID_LIMITS.segmentLength);
  if (long !== -1) fail(raw, `segment ${long + 1} is longer than ${RESOURCE_ID_LIMITS.segmentLength} characters (${at(long).length})`, path);

  if (at(0).toLowerCase() !== 'subscriptions') fail(raw, 'must start with /subscriptions/', path);
  if (segments.length < 2) fail(raw, 'missing subscription ID', path);
  if (!SUBSCRIPTION.test(at(1))) fail(raw, `invalid subscription ID ${JSON.stringify(at(1))}`, path);
  const subscriptionId = at(1).toLowerCase();

  let i = 2;
  let resourceGroup: string | undefined;
  if (i < segments.length && at(i).toLowerCase() === 'resourcegroups') {
    if (i + 1 >= segments.length) fail(raw, 'missing resource group name', path);
    if (!isResourceGroupName(at(i + 1))) fail(raw, `invalid resource group name ${JSON.stringify(at(i + 1))}`, path);
    resourceGroup = at(i + 1).toLowerCase();
    i += 2;
  }

  const providers: ProviderScope[] = [];
  while (i < segments.length) {
    if (at(i).toLowerCase() !== 'providers') {
      fail(raw, `expected "providers" at position ${i + 1}, got ${JSON.stringify(at(i))}`, path);
    }
    const namespace = at(i + 1);
    if (!NAMESPACE.test(namespace)) fail(raw, `invalid provider namespace ${JSON.stringify(namespace)}`, path);
    i += 2;
    const types: string[] = [];
    const names: string[] = [];
    while (i < segments.length && at(i).toLowerCase() !== 'providers') {
      if (!TYPE.test(at(i))) fail(raw, `invalid resource type ${JSON.stringify(at(i))}`, path);
      if (i + 1 >= segments.length) fail(raw, `resource type ${JSON.stringify(at(i))} has no name`, path);
      if (!NAME.test(at(i + 1))) fail(raw, `invalid resource name ${JSON.stringify(at(i + 1))}`, path);
      types.push(at(i).toLowerCase());
      names.push(at(i + 1).toLowerCase());
      i += 2;
    }
    if (types.length === 0) fail(raw, `provider ${JSON.stringify(namespace)} names no resource`, path);
    if (namespace.toLowerCase() === 'microsoft.compute' && providers.length === 0) {
      types.forEach((type, k) => {
        const max = RESOURCE_ID_LIMITS.computeNameLength[type];
        const name = names[k] as string;
        if (max !== undefined && name.length > max) fail(raw, `${type} name longer than ${max} characters (${name.length})`, path);
      });
    }
    providers.push({ namespace: namespace.toLowerCase(), types, names });
  }
  return { id: text.toLowerCase(), subscriptionId, resourceGroup, providers };
}

/** The ID of a scale set from its parts, normalised. Throws `InvalidInputError` for invalid parts. */
export function scaleSetId(subscriptionId: string, resourceGroup: string, name: string): string {
  return scaleSetRef(subscriptionId, resourceGroup, name).id;
}

export function scaleSetRef(subscriptionId: string, resourceGroup: string, name: string): ScaleSetRef {
  const target = computeTargetOf(parseResourceId(computeId(subscriptionId, resourceGroup, 'virtualMachineScaleSets', name)));
  if (target?.kind !== 'scale-set') throw new InvalidInputError(`invalid scale set name ${JSON.stringify(name)}`);
  return target.ref;
}

/** The ID of a plain (Flexible-mode) VM from its parts, normalised. */
export function virtualMachineId(subscriptionId: string, resourceGroup: string, name: string): string {
  return parseResourceId(computeId(subscriptionId, resourceGroup, 'virtualMachines', name)).id;
}

function computeId(subscriptionId: string, resourceGroup: string, type: string, name: string): string {
  // Parts must be single segments: `web/virtualMachines/3` as a name would parse as a child.
  for (const [what, part] of [['subscription ID', subscriptionId], ['resource group', resourceGroup], ['name', name]] as const) {
    if (part.includes('/')) throw new InvalidInputError(`invalid ${what} ${JSON.stringify(part)}: contains "/"`);
  }
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/${type}/${name}`;
}

/** The ID of a resource group from parts already normalised (a `ScaleSetRef`'s, a parsed ID's). */
export function resourceGroupIdOf(parts: { readonly subscriptionId: string; readonly resourceGroup: string }): string {
  return `/subscriptions/${parts.subscriptionId}/resourcegroups/${parts.resourceGroup}`;
}

/** What a compute resource ID says about the scale set it belongs to. */
export type ComputeTarget =
  | {
      readonly kind: 'scale-set';
      readonly ref: ScaleSetRef;
      /** The Uniform instance ID when the ID is `…/virtualMachines/{instanceId}[/…]`. */
      readonly instanceId?: string;
      /** Child type path below the scale set, e.g. `virtualmachines/networkinterfaces`; '' for the set itself. */
      readonly childType: string;
    }
  | {
      /** `Microsoft.Compute/virtualMachines/{name}[/…]`: its scale set (if any) is known only to ARM. */
      readonly kind: 'virtual-machine';
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      readonly vmName: string;
      /** Normalised ID of the VM itself (children such as extensions stripped). */
      readonly vmId: string;
      readonly childType: string;
    };

const COMPUTE = 'microsoft.compute';
const SCALE_SETS = 'virtualmachinescalesets';
const VIRTUAL_MACHINES = 'virtualmachines';

/**
 * Classifies an ID as a scale set (or a descendant of one), a plain VM (or a descendant), or
 * neither (`undefined`). Extension resources (`…/providers/Microsoft.Authorization/…` on a scale
 * set) are neither: they do not change the scale set.
 */
export function computeTargetOf(id: ResourceId): ComputeTarget | undefined {
  const [scope] = id.providers;
  if (id.providers.length !== 1 || !scope || scope.namespace !== COMPUTE || id.resourceGroup === undefined) return undefined;
  const prefix = `${resourceGroupIdOf({ subscriptionId: id.subscriptionId, resourceGroup: id.resourceGroup })}/providers/${COMPUTE}`;
  const childType = scope.types.slice(1).join('/');
  if (scope.types[0] === SCALE_SETS) {
    const name = scope.names[0] as string;
    const ref: ScaleSetRef = {
      subscriptionId: id.subscriptionId,
      resourceGroup: id.resourceGroup,
      name,
      id: `${prefix}/${SCALE_SETS}/${name}`,
    };
    const instanceId = scope.types[1] === VIRTUAL_MACHINES ? scope.names[1] : undefined;
    return instanceId === undefined ? { kind: 'scale-set', ref, childType } : { kind: 'scale-set', ref, instanceId, childType };
  }
  if (scope.types[0] === VIRTUAL_MACHINES) {
    const vmName = scope.names[0] as string;
    return {
      kind: 'virtual-machine',
      subscriptionId: id.subscriptionId,
      resourceGroup: id.resourceGroup,
      vmName,
      vmId: `${prefix}/${VIRTUAL_MACHINES}/${vmName}`,
      childType,
    };
  }
  return undefined;
}

/**
 * The scale set an ID names: the scale set itself or any child of it (`virtualMachines/3`,
 * `virtualMachines/3/networkInterfaces/nic0`, `extensions/health`, …). Throws `InvalidInputError`
 * for anything else, including a plain Flexible-mode VM, whose scale set only ARM knows.
 */
export function scaleSetRefFromId(id: string | ResourceId, path = ''): ScaleSetRef {
  const parsed = typeof id === 'string' ? parseResourceId(id, path) : id;
  const target = computeTargetOf(parsed);
  if (target?.kind === 'scale-set') return target.ref;
  if (target?.kind === 'virtual-machine') {
    throw new InvalidInputError(
      `${parsed.id} is a plain virtual machine (Flexible mode): its scale set is known only to ARM (virtualMachineScaleSet.id)`,
      path,
    );
  }
  throw new InvalidInputError(`not a virtual machine scale set or a child of one: ${parsed.id}`, path);
}

/** The key a target's requests are merged on: its scale set's ID, or the VM's ID while its scale set is unknown. */
export function reconcileTargetKey(target: ReconcileTarget): string {
  return target.kind === 'scale-set' ? target.ref.id : target.vmResourceId;
}
