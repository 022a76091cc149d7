/**
 * The in-memory Azure the ARM emulator serves: subscriptions, resource groups, scale sets and their
 * instances with a realistic lifecycle. Tests and the sandbox drive it directly; the REST handlers
 * drive it on behalf of SDK clients. Every ARM write/delete/action is recorded as an
 * `ArmOperationRecord` (what Event Grid would carry) and emitted as `operation`.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { ArmEmulatorError, notFound } from './arm-error';
import { sequentialIpv4Allocator } from './ip-allocator';
import { flexibleVmResourceId, guidFrom, networkNicResourceId, scaleSetResourceId } from './naming';
import { buildInstance } from './instance-factory';
import type { MutableInstance } from './instance-factory';
import { pickForScaleIn, pickZone } from './placement';
import { Transitions } from './transitions';
import type {
  AppHealthState,
  ArmOperationRecord,
  CreateScaleSetInput,
  EmulatedInstance,
  EmulatedScaleSet,
  InstanceProvisioningState,
  IpAllocator,
  LifecycleDurations,
  OperationOrigin,
  PowerState,
  ScaleSetSelector,
  WorldChange,
} from './world-types';

export interface WorldOptions {
  /** Default lifecycle of every scale set (each may override). Default `{createDelayMs: 0, drainMs: 0}`. */
  readonly lifecycle?: Partial<LifecycleDurations>;
  /** Default: loopback addresses from 127.0.1.1 upwards. */
  readonly ipAllocator?: IpAllocator;
  /** Location of scale sets created without one. Default `westeurope`. */
  readonly defaultLocation?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type InstanceState = MutableInstance;
interface ScaleSetState {
  readonly info: Mutable<Omit<EmulatedScaleSet, 'capacity'>>;
  readonly instances: Map<string, InstanceState>;
  readonly lifecycle: LifecycleDurations;
  readonly initialHealth: AppHealthState;
  readonly nicsPerInstance: number;
  readonly ipConfigurationsPerNic: number;
  nextInstanceNumber: number;
  /** Per-zone creation counters, for fault-domain assignment. */
  readonly createdPerZone: Map<string, number>;
}

const key = (...parts: string[]): string => parts.join('/').toLowerCase();
const freeze = <T>(value: T): T => Object.freeze(value);

function isActive(instance: InstanceState): boolean {
  return instance.provisioningState !== 'Deleting';
}

function positiveInt(value: number | undefined, fallback: number, what: string): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < 0) throw new TypeError(`${what} must be a non-negative integer, got ${String(value)}`);
  return result;
}

export class ArmWorld extends EventEmitter<{ operation: [ArmOperationRecord]; change: [WorldChange] }> {
  private readonly scaleSets = new Map<string, ScaleSetState>();
  private readonly resourceGroups = new Map<string, { subscriptionId: string; name: string; location: string }>();
  private readonly subscriptions = new Set<string>();
  private readonly transitions = new Transitions();
  private readonly allocateIp: IpAllocator;
  private readonly lifecycle: LifecycleDurations;
  private readonly defaultLocation: string;
  private readonly operationLog: ArmOperationRecord[] = [];
  /** Flexible VMs by lower-cased resource ID, and by each of their NICs' lower-cased IDs (the routes' look-ups). */
  private readonly flexibleVmsById = new Map<string, InstanceState>();
  private readonly flexibleVmsByNicId = new Map<string, InstanceState>();
  private ordinal = 0;
  private changes = 0;

  constructor(options: WorldOptions = {}) {
    super();
    this.allocateIp = options.ipAllocator ?? sequentialIpv4Allocator();
    this.lifecycle = {
      createDelayMs: positiveInt(options.lifecycle?.createDelayMs, 0, 'lifecycle.createDelayMs'),
      drainMs: positiveInt(options.lifecycle?.drainMs, 0, 'lifecycle.drainMs'),
    };
    this.defaultLocation = options.defaultLocation ?? 'westeurope';
  }

  /** Grows with every change of the world (instances, scale sets): what was read at one version holds until the next. */
  get version(): number {
    return this.changes;
  }

  /** Every operation recorded so far, oldest first. */
  get operations(): readonly ArmOperationRecord[] {
    return this.operationLog;
  }

  // ---- subscriptions and resource groups -------------------------------------------------------

  /** Resource groups appear implicitly with their first scale set; this creates an empty one. */
  createResourceGroup(subscriptionId: string, name: string, location = this.defaultLocation): void {
    this.subscriptions.add(subscriptionId.toLowerCase());
    if (!this.resourceGroups.has(key(subscriptionId, name))) this.resourceGroups.set(key(subscriptionId, name), { subscriptionId, name, location });
  }

  hasSubscription(subscriptionId: string): boolean {
    return this.subscriptions.has(subscriptionId.toLowerCase());
  }

  hasResourceGroup(subscriptionId: string, resourceGroup: string): boolean {
    return this.resourceGroups.has(key(subscriptionId, resourceGroup));
  }

  // ---- reads -----------------------------------------------------------------------------------

  getScaleSet(selector: ScaleSetSelector): EmulatedScaleSet | undefined {
    const state = this.scaleSets.get(this.keyOf(selector));
    return state && this.scaleSetSnapshot(state);
  }

  listScaleSets(filter: { subscriptionId?: string; resourceGroup?: string } = {}): EmulatedScaleSet[] {
    return [...this.scaleSets.values()]
      .filter((s) => filter.subscriptionId === undefined || s.info.subscriptionId.toLowerCase() === filter.subscriptionId.toLowerCase())
      .filter((s) => filter.resourceGroup === undefined || s.info.resourceGroup.toLowerCase() === filter.resourceGroup.toLowerCase())
      .map((s) => this.scaleSetSnapshot(s));
  }

  /** Instances of a scale set (Deleting ones included), Uniform by instance id, Flexible by creation. */
  listInstances(selector: ScaleSetSelector): EmulatedInstance[] {
    const state = this.require(selector);
    return [...state.instances.values()].sort((a, b) => a.ordinal - b.ordinal).map((i) => this.instanceSnapshot(i));
  }

  getInstance(selector: ScaleSetSelector, instanceId: string): EmulatedInstance | undefined {
    const instance = this.scaleSets.get(this.keyOf(selector))?.instances.get(instanceId.toLowerCase());
    return instance && this.instanceSnapshot(instance);
  }

  /** Every Flexible-mode VM of a subscription or resource group (what `virtualMachines.list[All]` sees; VMs live in their scale set's group). */
  listFlexibleVms(subscriptionId: string, resourceGroup?: string): EmulatedInstance[] {
    return this.listScaleSets({ subscriptionId, ...(resourceGroup === undefined ? {} : { resourceGroup }) })
      .filter((s) => s.orchestrationMode === 'Flexible')
      .flatMap((s) => this.listInstances(s.id));
  }

  /** Finds a Flexible VM by resource group and name. */
  findFlexibleVm(subscriptionId: string, resourceGroup: string, vmName: string): EmulatedInstance | undefined {
    const vm = this.flexibleVmsById.get(flexibleVmResourceId(subscriptionId, resourceGroup, vmName).toLowerCase());
    return vm && this.instanceSnapshot(vm);
  }

  // ---- reads without copies, for the routes ------------------------------------------------------
  // The live objects, typed read-only: valid until the world next changes, so a route renders
  // them at once and keeps none. Same contents and order as the copying reads above.

  /** As `listInstances`, without the copies. */
  viewInstances(selector: ScaleSetSelector): readonly EmulatedInstance[] {
    // Instances enter the map in creation order (ordinals only grow), so no sort is needed.
    return [...this.require(selector).instances.values()];
  }

  /** As `getInstance`, without the copy. */
  viewInstance(selector: ScaleSetSelector, instanceId: string): EmulatedInstance | undefined {
    return this.scaleSets.get(this.keyOf(selector))?.instances.get(instanceId.toLowerCase());
  }

  /** As `listFlexibleVms`, without the copies. */
  viewFlexibleVms(subscriptionId: string, resourceGroup?: string): readonly EmulatedInstance[] {
    const sub = subscriptionId.toLowerCase();
    const rg = resourceGroup?.toLowerCase();
    const vms: EmulatedInstance[] = [];
    for (const state of this.scaleSets.values()) {
      if (state.info.orchestrationMode !== 'Flexible' || state.info.subscriptionId.toLowerCase() !== sub) continue;
      if (rg !== undefined && state.info.resourceGroup.toLowerCase() !== rg) continue;
      for (const vm of state.instances.values()) vms.push(vm);
    }
    return vms;
  }

  /** The Flexible VM a NIC of this resource group belongs to, and the NIC; one map look-up. */
  viewFlexibleNic(subscriptionId: string, resourceGroup: string, nicName: string): { readonly vm: EmulatedInstance; readonly nic: EmulatedInstance['nics'][number] } | undefined {
    const id = networkNicResourceId(subscriptionId, resourceGroup, nicName).toLowerCase();
    const vm = this.flexibleVmsByNicId.get(id);
    const nic = vm?.nics.find((n) => n.id.toLowerCase() === id);
    return vm && nic ? { vm, nic } : undefined;
  }

  // ---- ARM operations --------------------------------------------------------------------------

  createScaleSet(input: CreateScaleSetInput, origin: OperationOrigin = { origin: 'world', httpMethod: 'PUT' }): EmulatedScaleSet {
    const id = scaleSetResourceId(input.subscriptionId, input.resourceGroup, input.name);
    if (this.scaleSets.has(id.toLowerCase())) throw new ArmEmulatorError(409, 'Conflict', `Scale set ${id} already exists.`);
    const mode = input.orchestrationMode ?? 'Uniform';
    this.createResourceGroup(input.subscriptionId, input.resourceGroup, input.location ?? this.defaultLocation);
    const state: ScaleSetState = {
      info: {
        id,
        subscriptionId: input.subscriptionId,
        resourceGroup: input.resourceGroup,
        name: input.name,
        location: input.location ?? this.defaultLocation,
        zones: [...(input.zones ?? [])],
        tags: { ...(input.tags ?? {}) },
        orchestrationMode: mode,
        vmSize: input.vmSize ?? 'Standard_D2s_v3',
        ...(input.imageReference === undefined ? {} : { imageReference: input.imageReference }),
        provisioningState: 'Succeeded',
        healthExtension: input.healthExtension ?? true,
        platformFaultDomainCount: Math.max(1, positiveInt(input.platformFaultDomainCount, mode === 'Uniform' ? 5 : 1, 'platformFaultDomainCount')),
        scaleInPolicy: input.scaleInPolicy ?? 'Default',
        uniqueId: guidFrom(`${id.toLowerCase()}#${this.ordinal}`),
        timeCreated: new Date().toISOString(),
      },
      instances: new Map(),
      lifecycle: {
        createDelayMs: positiveInt(input.lifecycle?.createDelayMs, this.lifecycle.createDelayMs, 'lifecycle.createDelayMs'),
        drainMs: positiveInt(input.lifecycle?.drainMs, this.lifecycle.drainMs, 'lifecycle.drainMs'),
      },
      initialHealth: input.initialHealth ?? 'Healthy',
      nicsPerInstance: Math.max(1, positiveInt(input.nicsPerInstance, 1, 'nicsPerInstance')),
      ipConfigurationsPerNic: Math.max(1, positiveInt(input.ipConfigurationsPerNic, 1, 'ipConfigurationsPerNic')),
      nextInstanceNumber: 0,
      createdPerZone: new Map(),
    };
    this.scaleSets.set(id.toLowerCase(), state);
    this.changed({ kind: 'scale-set-created', scaleSetId: id });
    this.record('Microsoft.Compute/virtualMachineScaleSets/write', state, origin);
    this.resize(state, positiveInt(input.capacity, 0, 'capacity'));
    return this.scaleSetSnapshot(state);
  }

  /** An ARM write on the scale set: new capacity (scale out/in) and/or new tags (replacing all tags). */
  updateScaleSet(
    selector: ScaleSetSelector,
    update: { readonly capacity?: number; readonly tags?: Readonly<Record<string, string>> },
    origin: OperationOrigin = { origin: 'world', httpMethod: 'PATCH' },
  ): EmulatedScaleSet {
    const state = this.require(selector);
    if (state.info.provisioningState === 'Deleting') {
      throw new ArmEmulatorError(409, 'OperationNotAllowed', `Scale set ${state.info.name} is being deleted.`);
    }
    if (update.tags !== undefined) state.info.tags = { ...update.tags };
    this.record('Microsoft.Compute/virtualMachineScaleSets/write', state, origin);
    if (update.capacity !== undefined) this.resize(state, positiveInt(update.capacity, 0, 'capacity'));
    this.changed({ kind: 'scale-set-updated', scaleSetId: state.info.id });
    return this.scaleSetSnapshot(state);
  }

  /** Scale to `capacity` instances (what autoscale or a manual scale does). */
  scale(selector: ScaleSetSelector, capacity: number, origin?: OperationOrigin): EmulatedScaleSet {
    return this.updateScaleSet(selector, { capacity }, origin);
  }

  setTags(selector: ScaleSetSelector, tags: Readonly<Record<string, string>>, origin?: OperationOrigin): EmulatedScaleSet {
    return this.updateScaleSet(selector, { tags }, origin);
  }

  /** `POST …/delete` (deleteInstances): the instances go Deleting, capacity drops by their number. */
  deleteInstances(selector: ScaleSetSelector, instanceIds: readonly string[], origin: OperationOrigin = { origin: 'world', httpMethod: 'POST' }): void {
    const state = this.require(selector);
    const targets = instanceIds.map((id) => {
      const instance = state.instances.get(id.toLowerCase());
      if (!instance) throw new ArmEmulatorError(400, 'InvalidParameter', `Instance id ${id} is not an instance of scale set ${state.info.name}.`);
      return instance;
    });
    this.record('Microsoft.Compute/virtualMachineScaleSets/delete/action', state, origin);
    for (const instance of targets) this.startDeleting(state, instance);
  }

  /**
   * Deletes one VM: `DELETE …/virtualMachineScaleSets/{vmss}/virtualMachines/{id}` (Uniform) or
   * `DELETE …/virtualMachines/{name}` (Flexible), each with its own operation name.
   */
  deleteVm(selector: ScaleSetSelector, instanceId: string, origin: OperationOrigin = { origin: 'world', httpMethod: 'DELETE' }): void {
    const state = this.require(selector);
    const instance = state.instances.get(instanceId.toLowerCase());
    if (!instance) throw notFound('NotFound', `The entity ${instanceId} was not found in scale set ${state.info.name}.`);
    const flexible = state.info.orchestrationMode === 'Flexible';
    const operation = flexible ? 'Microsoft.Compute/virtualMachines/delete' : 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/delete';
    this.record(operation, state, { ...origin, resourceUri: origin.resourceUri ?? instance.id });
    this.startDeleting(state, instance);
  }

  /** Deletes the whole scale set: every instance drains, then the set disappears. */
  deleteScaleSet(selector: ScaleSetSelector, origin: OperationOrigin = { origin: 'world', httpMethod: 'DELETE' }): void {
    const state = this.require(selector);
    if (state.info.provisioningState === 'Deleting') return;
    state.info.provisioningState = 'Deleting';
    this.record('Microsoft.Compute/virtualMachineScaleSets/delete', state, origin);
    for (const instance of state.instances.values()) this.markDeleting(instance);
    this.changed({ kind: 'scale-set-updated', scaleSetId: state.info.id });
    this.transitions.schedule(state.lifecycle.drainMs, () => {
      if (this.scaleSets.get(state.info.id.toLowerCase()) !== state) return;
      for (const instance of [...state.instances.values()]) this.remove(state, instance);
      this.scaleSets.delete(state.info.id.toLowerCase());
      this.changed({ kind: 'scale-set-removed', scaleSetId: state.info.id });
    });
  }

  // ---- platform-side changes (not ARM operations: no record) -------------------------------------

  /** What the Application Health extension reports; `null` = no report (`vmHealth` absent). */
  setHealth(selector: ScaleSetSelector, instanceId: string, health: AppHealthState | null): void {
    this.mutate(selector, instanceId, (i) => (i.health = health));
  }

  setPowerState(selector: ScaleSetSelector, instanceId: string, powerState: PowerState): void {
    this.mutate(selector, instanceId, (i) => (i.powerState = powerState));
  }

  setProvisioningState(selector: ScaleSetSelector, instanceId: string, provisioningState: Exclude<InstanceProvisioningState, 'Deleting'>): void {
    this.mutate(selector, instanceId, (i) => (i.provisioningState = provisioningState));
  }

  // ---- waiting ---------------------------------------------------------------------------------

  /** Resolves when no lifecycle change is pending (instances created, drained instances gone). */
  settled(): Promise<void> {
    return this.transitions.settled();
  }

  /** Completes every pending lifecycle change now (tests that want Creating/Deleting, then the end state). */
  flush(): void {
    this.transitions.flush();
  }

  get pendingTransitions(): number {
    return this.transitions.size;
  }

  /** Clears every timer; the world stays readable but nothing changes by itself any more. */
  close(): void {
    this.transitions.close();
  }

  // ---- internals -------------------------------------------------------------------------------

  private keyOf(selector: ScaleSetSelector): string {
    return (typeof selector === 'string' ? selector : scaleSetResourceId(selector.subscriptionId, selector.resourceGroup, selector.name)).toLowerCase().replace(/\/+$/, '');
  }

  private require(selector: ScaleSetSelector): ScaleSetState {
    const state = this.scaleSets.get(this.keyOf(selector));
    if (!state) {
      const name = typeof selector === 'string' ? selector : selector.name;
      throw notFound('ResourceNotFound', `The Resource 'Microsoft.Compute/virtualMachineScaleSets/${name.slice(name.lastIndexOf('/') + 1)}' was not found.`);
    }
    return state;
  }

  private mutate(selector: ScaleSetSelector, instanceId: string, change: (instance: InstanceState) => void): void {
    const state = this.require(selector);
    const instance = state.instances.get(instanceId.toLowerCase());
    if (!instance) throw notFound('NotFound', `Instance ${instanceId} of scale set ${state.info.name} was not found.`);
    change(instance);
    this.changed({ kind: 'instance-updated', scaleSetId: state.info.id, instanceId: instance.instanceId });
  }

  private resize(state: ScaleSetState, capacity: number): void {
    const active = () => [...state.instances.values()].filter(isActive);
    let count = active().length;
    for (; count < capacity; count += 1) this.addInstance(state);
    while (active().length > capacity) {
      const victim = pickForScaleIn(state.info.scaleInPolicy, state.info.zones, active());
      if (!victim) break;
      this.startDeleting(state, victim);
    }
  }

  private addInstance(state: ScaleSetState): void {
    const { info } = state;
    const active = [...state.instances.values()].filter(isActive);
    const zone = pickZone(info.zones, active);
    const createdInZone = state.createdPerZone.get(zone ?? '') ?? 0;
    state.createdPerZone.set(zone ?? '', createdInZone + 1);
    const creating = state.lifecycle.createDelayMs > 0;
    const instance = buildInstance({
      scaleSet: info,
      number: state.nextInstanceNumber,
      ordinal: (this.ordinal += 1),
      zone,
      createdInZone,
      nicsPerInstance: state.nicsPerInstance,
      ipConfigurationsPerNic: state.ipConfigurationsPerNic,
      creating,
      initialHealth: state.initialHealth,
      allocateIp: this.allocateIp,
    });
    state.nextInstanceNumber += 1;
    const instanceId = instance.instanceId;
    state.instances.set(instanceId.toLowerCase(), instance);
    if (info.orchestrationMode === 'Flexible') {
      this.flexibleVmsById.set(instance.id.toLowerCase(), instance);
      for (const nic of instance.nics) this.flexibleVmsByNicId.set(nic.id.toLowerCase(), instance);
    }
    this.changed({ kind: 'instance-created', scaleSetId: info.id, instanceId });
    if (!creating) return;
    this.transitions.schedule(state.lifecycle.createDelayMs, () => {
      if (state.instances.get(instanceId.toLowerCase()) !== instance || instance.provisioningState !== 'Creating') return;
      instance.provisioningState = 'Succeeded';
      if (instance.powerState === 'starting') instance.powerState = 'running';
      if (instance.health === 'Initializing') instance.health = state.initialHealth;
      this.changed({ kind: 'instance-updated', scaleSetId: info.id, instanceId });
    });
  }

  private markDeleting(instance: InstanceState): void {
    instance.provisioningState = 'Deleting';
    this.changed({ kind: 'instance-updated', scaleSetId: instance.scaleSetId, instanceId: instance.instanceId });
  }

  private startDeleting(state: ScaleSetState, instance: InstanceState): void {
    if (instance.provisioningState === 'Deleting') return;
    this.markDeleting(instance);
    this.transitions.schedule(state.lifecycle.drainMs, () => this.remove(state, instance));
  }

  private remove(state: ScaleSetState, instance: InstanceState): void {
    if (state.instances.get(instance.instanceId.toLowerCase()) !== instance) return;
    state.instances.delete(instance.instanceId.toLowerCase());
    if (this.flexibleVmsById.get(instance.id.toLowerCase()) === instance) this.flexibleVmsById.delete(instance.id.toLowerCase());
    for (const nic of instance.nics) {
      if (this.flexibleVmsByNicId.get(nic.id.toLowerCase()) === instance) this.flexibleVmsByNicId.delete(nic.id.toLowerCase());
    }
    this.changed({ kind: 'instance-removed', scaleSetId: state.info.id, instanceId: instance.instanceId });
  }

  private record(operationName: string, state: ScaleSetState, origin: OperationOrigin): void {
    const record: ArmOperationRecord = freeze({
      sequence: this.operationLog.length + 1,
      operationName,
      resourceUri: origin.resourceUri ?? state.info.id,
      resourceProvider: 'Microsoft.Compute',
      subscriptionId: state.info.subscriptionId,
      resourceGroup: state.info.resourceGroup,
      status: 'Succeeded',
      correlationId: origin.correlationId ?? randomUUID(),
      eventTime: new Date().toISOString(),
      ...(origin.httpMethod === undefined ? {} : { httpMethod: origin.httpMethod }),
      ...(origin.httpUrl === undefined ? {} : { httpUrl: origin.httpUrl }),
      origin: origin.origin,
    });
    this.operationLog.push(record);
    this.emit('operation', record);
  }

  private changed(change: WorldChange): void {
    this.changes += 1;
    this.emit('change', freeze(change));
  }

  private scaleSetSnapshot(state: ScaleSetState): EmulatedScaleSet {
    return freeze({
      ...state.info,
      zones: freeze([...state.info.zones]),
      tags: freeze({ ...state.info.tags }),
      capacity: [...state.instances.values()].filter(isActive).length,
    });
  }

  private instanceSnapshot(instance: InstanceState): EmulatedInstance {
    return freeze({ ...instance });
  }
}
