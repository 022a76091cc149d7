/**
 * A small stand-in for the sandbox orchestrator, for the control server's tests and the status
 * page's browser test: scale sets with instances, traffic spread evenly over the passing ones,
 * a timeline, and actions that change it. Scaling out adds instances that are `Creating` and
 * unregistered first and become `Succeeded`, passing and served after `settleMs` — so a test
 * sees the change arrive live, as in the real sandbox.
 */
import type { ActionResult } from '../../src/sandbox/control/control-server';
import type { SandboxAction, SandboxInstance, SandboxRelayClient, SandboxScaleSet, SandboxState, TimelineEntry, TimelineKind } from '../../src/sandbox/sandbox-state';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Instance = Mutable<SandboxInstance>;
interface ScaleSet extends Omit<Mutable<SandboxScaleSet>, 'instances'> {
  instances: Instance[];
  nextIndex: number;
}

export interface FakeWorldOptions {
  /** Scale sets and their starting capacity (default web: 2 Uniform, api: 1 Flexible). */
  readonly scaleSets?: ReadonlyArray<{ name: string; capacity: number; mode?: 'Uniform' | 'Flexible' }>;
  /** Delay before a new instance is running, registered and served (default 30 ms). */
  readonly settleMs?: number;
  /** Requests per window spread over the passing instances (default 600). */
  readonly requestsPerWindow?: number;
}

export class FakeSandboxWorld {
  readonly actions: SandboxAction[] = [];
  private readonly sets: ScaleSet[];
  private readonly listeners = new Set<() => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly timeline: TimelineEntry[] = [];
  private readonly relayClients: SandboxRelayClient[] = [];
  private eventChaos = false;
  private edsVersion = 1;
  private failedTotal = 0;
  private readonly settleMs: number;
  private readonly requestsPerWindow: number;

  constructor(options: FakeWorldOptions = {}) {
    this.settleMs = options.settleMs ?? 30;
    this.requestsPerWindow = options.requestsPerWindow ?? 600;
    const specs = options.scaleSets ?? [
      { name: 'web', capacity: 2, mode: 'Uniform' as const },
      { name: 'api', capacity: 1, mode: 'Flexible' as const },
    ];
    this.sets = specs.map((spec, i) => ({
      id: `/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-sandbox/providers/Microsoft.Compute/virtualMachineScaleSets/${spec.name}`,
      name: spec.name,
      orchestrationMode: spec.mode ?? 'Uniform',
      capacity: spec.capacity,
      service: spec.name,
      port: 8080 + i,
      protocol: i % 2 === 0 ? 'http' : 'grpc',
      instances: [],
      nextIndex: 0,
    }));
    for (const set of this.sets) for (let n = 0; n < set.capacity; n += 1) set.instances.push(this.newInstance(set, true));
    this.relayClients.push({ nodeId: 'traffic-client-1', profile: 'proxyless-grpc', lastSentVersion: { cluster: '1', endpoint: '1' }, lastAckedVersion: { cluster: '1', endpoint: '1' } });
    this.record('sandbox', 'fake world started');
  }

  readonly state = (): SandboxState => {
    const passing = this.sets.flatMap((s) => s.instances).filter((i) => i.consul === 'passing');
    const share = passing.length === 0 ? 0 : 1 / passing.length;
    const served = passing.length === 0 ? 0 : Math.floor(this.requestsPerWindow / passing.length);
    return {
      generatedAt: new Date().toISOString(),
      endpoints: {
        armEmulator: 'https://127.0.0.1:1',
        consul: 'http://127.0.0.1:2',
        consulKind: 'double',
        functionsHost: 'http://127.0.0.1:3',
        relayXds: '127.0.0.1:4',
        relayAdmin: 'http://127.0.0.1:5',
        statusPage: 'http://127.0.0.1:6',
      },
      scaleSets: this.sets.map(({ nextIndex: _unused, instances, ...set }) => ({
        ...set,
        instances: instances.map((i) => (i.consul === 'passing' ? { ...i, trafficShare: share, served } : { ...i, trafficShare: 0, served: 0 })),
      })),
      relayClients: this.relayClients.map((c) => ({ ...c })),
      traffic: { windowSeconds: 5, requests: passing.length === 0 ? 0 : served * passing.length, failed: 0, failedTotal: this.failedTotal },
      eventChaos: this.eventChaos,
      timeline: this.timeline.slice(-200),
    };
  };

  readonly onChange = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly act = async (action: SandboxAction): Promise<ActionResult> => {
    this.actions.push(action);
    switch (action.action) {
      case 'scale': {
        const set = this.sets.find((s) => s.name === action.scaleSet);
        if (!set) return { ok: false, message: `unknown scale set ${JSON.stringify(action.scaleSet)} (known: ${this.sets.map((s) => s.name).join(', ')})` };
        const from = set.capacity;
        set.capacity = action.capacity;
        while (set.instances.length < set.capacity) {
          const instance = this.newInstance(set, false);
          set.instances.push(instance);
          this.later(() => this.settle(instance));
        }
        while (set.instances.length > set.capacity) set.instances.pop();
        this.record('arm-operation', `${set.name}: capacity ${from} → ${set.capacity}`);
        this.changed();
        return { ok: true, message: `${set.name}: capacity ${from} → ${set.capacity}` };
      }
      case 'fail':
      case 'heal': {
        const instance = this.sets.flatMap((s) => s.instances).find((i) => i.name === action.instance);
        if (!instance) return { ok: false, message: `unknown instance ${JSON.stringify(action.instance)}` };
        instance.health = action.action === 'fail' ? 'Unhealthy' : 'Healthy';
        instance.consul = action.action === 'fail' ? 'critical' : 'passing';
        this.record('sandbox', `${instance.name} ${action.action === 'fail' ? 'failing' : 'healed'}`);
        this.changed();
        return { ok: true, message: `${instance.name} ${action.action === 'fail' ? 'now fails its health probe' : 'healthy again'}` };
      }
      case 'event-chaos':
        this.eventChaos = action.enabled;
        this.record('sandbox', `event chaos ${action.enabled ? 'on' : 'off'}`);
        this.changed();
        return { ok: true, message: `event chaos ${action.enabled ? 'on' : 'off'}` };
      case 'fail-half':
      case 'rollout':
        return { ok: false, message: `the fake world does not model ${action.action}` };
    }
  };

  /** Records a failed request (for tests of the failed counters). */
  failRequest(): void {
    this.failedTotal += 1;
    this.changed();
  }

  /** Tells listeners something changed although nothing did (for tests of de-duplication). */
  touch(): void {
    this.changed();
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.listeners.clear();
  }

  private newInstance(set: ScaleSet, running: boolean): Instance {
    const index = set.nextIndex++;
    const setIndex = this.sets.indexOf(set);
    return {
      name: `${set.name}_${index}`,
      instanceId: String(index),
      privateIp: `127.0.${setIndex + 1}.${index + 10}`,
      zone: String((index % 3) + 1),
      provisioningState: running ? 'Succeeded' : 'Creating',
      powerState: running ? 'running' : 'starting',
      health: running ? 'Healthy' : null,
      consul: running ? 'passing' : 'absent',
      trafficShare: 0,
      served: 0,
    };
  }

  /** The new instance is up: ARM succeeded, reconcile registered it, the relay pushed, the client ACKed. */
  private settle(instance: Instance): void {
    if (!this.sets.some((s) => s.instances.includes(instance))) return;
    Object.assign(instance, { provisioningState: 'Succeeded', powerState: 'running', health: 'Healthy', consul: 'passing' });
    this.edsVersion += 1;
    const version = String(this.edsVersion);
    for (const [i, client] of this.relayClients.entries()) {
      this.relayClients[i] = { ...client, lastSentVersion: { ...client.lastSentVersion, endpoint: version }, lastAckedVersion: { ...client.lastAckedVersion, endpoint: version } };
    }
    this.record('reconcile', `registered ${instance.name} (${instance.privateIp})`);
    this.record('push', `EDS version ${version} pushed`);
    this.record('client-ack', `traffic-client-1 ACKed EDS ${version}`);
    this.changed();
  }

  private later(fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, this.settleMs);
    this.timers.add(timer);
  }

  private record(kind: TimelineKind, summary: string): void {
    this.timeline.push({ at: new Date().toISOString(), kind, summary });
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
