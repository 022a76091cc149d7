/**
 * The whole mesh on one machine: the local world (ARM emulator, Consul, the Functions app in its
 * local host), Azurite, the xDS relay, one real HTTP + gRPC backend per simulated instance on the
 * instance's loopback address, and steady traffic from a real proxyless gRPC client per mesh
 * service. Event Grid is simulated from ARM's own operations (with optional chaos). Headless:
 * the CLI adds the terminal view and the control server; tests and the scenario drive it directly.
 * startSandbox composes the parts, each in its own module.
 */
import type { Relay } from '../relay/relay';
import { loadConfig } from '../shared/config';
import { ConsulRegistry, registryOptionsFrom } from '../shared/consul/registry';
import type { OwnedNode } from '../shared/model';
import { AppLogReader } from './app-log-reader';
import type { ArmOperationRecord } from './arm-emulator';
import { startAutoscaleLoop } from './autoscale-loop';
import { startAzurite } from './azurite';
import { InstanceBackends } from './backends-follow-arm';
import { CloseStack } from './close-stack';
import { startConsulDouble, type ConsulDouble } from './consul-double';
import { startConsulAgent } from './consul-agent';
import type { RedeliveryPolicy } from './event-grid/redelivery';
import { EventGridFeed, type EventGridFeedStats } from './event-grid-feed';
import { findFuncBinary, findOnPath } from './find-binary';
import { claimLoopbackBlock } from './loopback-block';
import { startLocalWorld, SANDBOX_SUBSCRIPTION, type LocalWorld } from './local-world';
import type { RolloutContext, RolloutOptions, RolloutRequest, RolloutStepResult } from './rollout';
import { SandboxRollouts } from './rollout-runner';
import { runSandboxAction } from './sandbox-actions';
import type { SandboxAction, SandboxState } from './sandbox-state';
import { createSandboxScaleSets, SANDBOX_SCALE_SETS, SandboxScaleSets, selectorOf } from './scale-set-specs';
import { StateRefresher } from './state-refresher';
import { Timeline } from './timeline';
import { SandboxRelay, SANDBOX_RELAY_TOKEN } from './sandbox-relay';
import { startSteadyTraffic } from './steady-traffic';
import type { XdsTraffic } from './traffic/xds-traffic';

export { SANDBOX_SCALE_SETS, selectorOf, type SandboxScaleSetSpec } from './scale-set-specs';
export type { EventGridFeedStats } from './event-grid-feed';
export { SANDBOX_RELAY_TOKEN } from './sandbox-relay';

export interface SandboxOptions {
  readonly createDelayMs?: number;
  readonly drainMs?: number;
  /** NCRONTAB of the reconcile timer (default every 10 s). */
  readonly timerSchedule?: string;
  /** Ports: 0 = any free port (tests). Defaults: host 7071, relay 18000, relay admin 18001. */
  readonly hostPort?: number;
  readonly relayPort?: number;
  readonly relayAdminPort?: number;
  /** Instances per scale set at start (default 2). */
  readonly initialCapacity?: number;
  /** Run the Functions app with `func start` when Core Tools are on the PATH (default true). */
  readonly useFuncBinary?: boolean;
  /** Use a `consul` binary from the PATH when there is one (default true); false = always the double. */
  readonly useConsulBinary?: boolean;
  /** Run the simulated autoscale rule (CPU from served traffic) every this many ms; 0 = off (default). */
  readonly autoscaleIntervalMs?: number;
  /** Start Azurite for AzureWebJobsStorage (default true). */
  readonly azurite?: boolean;
  readonly trafficWindowSeconds?: number;
  /** How often the state is rebuilt (default 250 ms). */
  readonly refreshMs?: number;
  /** One line per notable thing (startup, problems). */
  readonly log?: (line: string) => void;
  /** Use this Consul double (started, and closed, by the caller) instead of starting Consul. */
  readonly consulDouble?: ConsulDouble;
  /** Run the steady traffic clients (default true). */
  readonly traffic?: boolean;
  /**
   * Sees every Event Grid delivery the sandbox is about to make and answers what to deliver
   * instead (fewer, more, other operations): event loss, duplicates and delays for the chaos soak.
   */
  readonly beforeDelivery?: (operations: readonly ArmOperationRecord[]) => readonly ArmOperationRecord[];
  /**
   * Event Grid's redelivery of a delivery the app failed (non-2xx other than 400/401/403/413, or
   * no answer in time): default SANDBOX_REDELIVERY (Azure's schedule at 1/20 of the time: 0.5 s,
   * 1.5 s, 3 s, 15 s, …, up to 30 attempts); `false` delivers each event once.
   */
  readonly eventGridRedelivery?: RedeliveryPolicy | false;
}

export interface Sandbox {
  readonly world: LocalWorld;
  readonly consulKind: 'agent' | 'double';
  relay(): Relay;
  readonly traffic: ReadonlyMap<string, XdsTraffic>;
  state(): SandboxState;
  /** Our Consul nodes as read by the build of the current state (including any ARM no longer lists). */
  ownedNodes(): readonly OwnedNode[];
  onChange(listener: () => void): () => void;
  act(action: SandboxAction): Promise<{ ok: boolean; message: string }>;
  /**
   * Runs a blue/green rollout to its end (what the `rollout` action starts in the background);
   * rejects with RolloutRefused before doing anything when the request cannot be carried out.
   */
  rollout(request: RolloutRequest, options?: RolloutOptions): Promise<RolloutStepResult[]>;
  /** What an instance's backend counted: calls served, calls it failed on purpose (fail-half); undefined when it has none. */
  instanceStats(instanceName: string): { readonly served: number; readonly failedOnPurpose: number } | undefined;
  /** Stops the relay and starts it again on the same address (clients keep their config meanwhile). */
  restartRelay(): Promise<void>;
  /** Resolves once a fresh state has been built after this call. */
  refreshed(): Promise<SandboxState>;
  /** The Event Grid feed so far: deliveries (first attempts), those that failed, redeliveries, and how many are waiting or in flight now. */
  eventGridStats(): EventGridFeedStats;
  /**
   * Functions work that may still write: the local host's requests, invocations and timer runs in
   * flight (a run waiting to retry included), plus 1 while a delivery acknowledged at its deadline
   * (outcome 'queued': its reconcile runs on in the background) has not been followed by a sweep
   * that began after it. Undefined when the host cannot tell (func start).
   */
  functionsInFlight(): number | undefined;
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const log = options.log ?? (() => undefined);
  const parts = new CloseStack(log);
  const onClose = (what: string, run: () => Promise<void> | void) => parts.onClose(what, run);
  const close = () => parts.close();
  try {
    const timeline = new Timeline();
    const appLog = new AppLogReader(timeline);

    // The instances' loopback addresses: a block no other sandbox on this machine is using.
    const block = await claimLoopbackBlock();
    // A part that did not stop may still hold addresses of the block: then the claim stays
    // until this process ends (it never keeps the process alive), so no other sandbox takes them.
    onClose('loopback block claim', () => (parts.stuckParts.length === 0 ? block.release() : log(`keeping the claim on 127.${block.octet}.0.0/16 until this process ends (${parts.stuckParts.join(', ')} did not stop)`)));
    log(`instances: loopback addresses 127.${block.octet}.x.y (${block.first} upwards)`);

    const settings: Record<string, string> = {};
    if (options.azurite !== false) {
      const azurite = await startAzurite();
      if ('unavailable' in azurite) log(`Azurite not started: ${azurite.unavailable}`);
      else {
        onClose('Azurite', () => azurite.close());
        settings.AzureWebJobsStorage = azurite.connectionString;
        log(`Azurite (AzureWebJobsStorage)  blob ${azurite.blobUrl}  queue ${azurite.queueUrl}  table ${azurite.tableUrl}`);
      }
    }

    // A real Consul when one is installed; otherwise the project's Consul API double.
    const consulBinary = options.consulDouble || options.useConsulBinary === false ? undefined : findOnPath('consul');
    const consul: { readonly url: string; close(): Promise<void> } = options.consulDouble ?? (consulBinary ? await startConsulAgent(consulBinary) : await startConsulDouble());
    if (!options.consulDouble) onClose('Consul', () => consul.close());
    const consulKind: 'agent' | 'double' = consulBinary ? 'agent' : 'double';
    log(consulBinary ? `Consul: a real consul agent -dev (${consulBinary}) at ${consul.url}` : `Consul: the project's Consul API double at ${consul.url} (no consul binary on the PATH)`);

    const relays = await SandboxRelay.start(consul.url, options.relayPort ?? 18000, options.relayAdminPort ?? 18001);
    const relay = () => relays.current();
    const relayAddress = relays.xdsAddress;
    onClose('relay', () => relays.close());
    await relay().ready;

    const func = options.useFuncBinary === false ? { says: 'the local host (the routes of func start; Core Tools not wanted)' } : findFuncBinary();
    const funcBinary = func.binary;
    log(`Functions app: ${func.says}`);
    const world = await startLocalWorld({
      consulUrl: consul.url,
      ipAllocator: block.allocator,
      ...(funcBinary ? { funcBinary } : {}),
      lifecycle: { createDelayMs: options.createDelayMs ?? 2000, drainMs: options.drainMs ?? 4000 },
      relayAddresses: [relayAddress],
      relayToken: SANDBOX_RELAY_TOKEN,
      settings: { ...settings, VMSS_MESH_RECONCILE_SCHEDULE: options.timerSchedule ?? '*/10 * * * * *' },
      runTimers: true,
      hostPort: options.hostPort ?? 7071,
      log: (record) => appLog.read(record),
    });
    onClose('ARM emulator and Functions host', () => world.close());
    const arm = world.arm.world;
    const scaleSets = new SandboxScaleSets(arm);

    const backends = new InstanceBackends(scaleSets, log);
    const feed = new EventGridFeed({
      hostUrl: world.host.url,
      arm,
      scaleSets,
      timeline,
      otherPartsClosing: () => backends.closing,
      ...(options.beforeDelivery ? { beforeDelivery: options.beforeDelivery } : {}),
      ...(options.eventGridRedelivery !== undefined ? { redelivery: options.eventGridRedelivery } : {}),
    });
    // Runs before world.close (parts stop in reverse): no delivery is left half-way.
    onClose('Event Grid deliveries', () => feed.close());
    onClose('instance backends', () => backends.close());
    backends.follow(arm);
    feed.follow();

    createSandboxScaleSets(arm, options.initialCapacity ?? 2);

    const closing = () => backends.closing || feed.closed;
    const { traffic, started } = startSteadyTraffic({ relayAddress, specs: options.traffic === false ? [] : SANDBOX_SCALE_SETS, onClose, closing, log });

    // State: rebuilt on a short cadence, listeners told only when it changed.
    const registry = new ConsulRegistry(registryOptionsFrom(loadConfig({ VMSS_MESH_SUBSCRIPTIONS: SANDBOX_SUBSCRIPTION, CONSUL_HTTP_ADDR: consul.url })));
    onClose('Consul registry client', () => registry.close());
    const windowMs = (options.trafficWindowSeconds ?? 5) * 1000;
    const state = new StateRefresher({
      listOwned: () => registry.listOwned(),
      traffic,
      relay,
      timeline,
      windowMs,
      started,
      log,
      view: () => ({
        endpoints: { armEmulator: world.arm.url, consul: consul.url, consulKind, functionsHost: world.host.url, relayXds: relayAddress, relayAdmin: relay().adminUrl, statusPage: '' },
        rollout: rollouts.current(),
        scaleSets: scaleSets.specs.map((spec) => ({ spec, set: arm.getScaleSet(selectorOf(spec.name)), instances: scaleSets.instancesIn(spec.name) })),
        eventChaos: feed.chaos,
      }),
    });
    const refreshed = () => state.refreshed();
    // Blue/green rollouts (one at a time): the sandbox's scale sets, ARM, the relay and the traffic they need.
    const rolloutContext: RolloutContext = {
      arm,
      relay,
      selectorOf,
      specs: () => scaleSets.specs,
      addSpec: (spec) => scaleSets.add(spec),
      removeSpec: (name) => scaleSets.remove(name),
      refreshed,
      registeredAddresses: () => state.ownedNodes().map((node) => node.address),
      traffic: (service) => {
        const client = traffic.get(service);
        return client ? [client] : [];
      },
    };
    const rollouts = new SandboxRollouts(rolloutContext, (line) => timeline.note('sandbox', line));
    onClose('rollout', () => rollouts.close());
    state.every(options.refreshMs ?? 250);

    if (options.autoscaleIntervalMs) {
      const stopAutoscale = startAutoscaleLoop({ intervalMs: options.autoscaleIntervalMs, arm, scaleSets, traffic, hostUrl: world.host.url, timeline, windowMs, started, log });
      onClose('autoscale', stopAutoscale);
    }
    onClose('state refresh', () => state.stop());

    await state.buildFirst(); // a sandbox whose state cannot be read does not start
    timeline.note('sandbox', 'sandbox started');
    const actionParts = { arm, scaleSets, backends, feed, rollouts, timeline };

    return {
      world,
      consulKind,
      relay,
      traffic,
      state: () => state.current(),
      ownedNodes: () => state.ownedNodes(),
      eventGridStats: () => feed.stats(),
      functionsInFlight: () => {
        const host = world.host.inFlight?.();
        return host === undefined ? undefined : host + appLog.queuedWork();
      },
      onChange: (listener) => state.onChange(listener),
      act: async (action) => runSandboxAction(actionParts, action),
      async restartRelay() {
        timeline.note('sandbox', 'relay restarting');
        await relays.restart();
        timeline.note('sandbox', 'relay back (state loaded from Consul)');
      },
      refreshed,
      instanceStats: (name) => {
        const backend = backends.named(name);
        return backend ? { served: backend.served(), failedOnPurpose: backend.failedOnPurpose() } : undefined;
      },
      rollout: (request, rolloutOptions) => {
        try {
          return rollouts.start(request, rolloutOptions).run;
        } catch (error) {
          return Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
