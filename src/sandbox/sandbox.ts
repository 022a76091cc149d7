/**
 * The whole mesh on one machine: the local world (ARM emulator, Consul, the Functions app in its
 * local host), Azurite, the xDS relay, one real HTTP + gRPC backend per simulated instance on the
 * instance's loopback address, and steady traffic from a real proxyless gRPC client per mesh
 * service. Event Grid is simulated from ARM's own operations (with optional chaos). Headless:
 * the CLI adds the terminal view and the control server; tests and the scenario drive it directly.
 */
import pino from 'pino';
import { startRelay, type Relay } from '../relay/relay';
import { loadRelayConfig } from '../relay/relay-config';
import { loadConfig } from '../shared/config';
import { ConsulRegistry, registryOptionsFrom } from '../shared/consul/registry';
import { errorMessage } from '../shared/errors';
import type { ArmOperationRecord, EmulatedInstance, WorldChange } from './arm-emulator';
import { startAzurite } from './azurite';
import { decideAutoscale, DEFAULT_AUTOSCALE_RULE } from './autoscale';
import { autoscaleNotification, autoscaleRequest, buildDeliveries, postWebhook, type Delivery } from './event-grid';
import { attemptDelivery, checkPolicy, deliverUntilAccepted, describeAttempt, isAccepted, SANDBOX_REDELIVERY, type AttemptResult, type RedeliveryPolicy } from './event-grid/redelivery';
import { startDemoBackend, type DemoBackend } from './backends/demo-backend';
import { startConsulDouble, type ConsulDouble } from './consul-double';
import { startConsulAgent } from './consul-agent';
import { findFuncBinary, findOnPath } from './find-binary';
import { claimLoopbackBlock } from './loopback-block';
import { computeTargetOf, parseResourceId } from '../shared/resource-id';
import type { HostLogRecord } from './functions-host/functions-host';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION, type LocalWorld } from './local-world';
import type { SandboxAction, SandboxState, TimelineEntry, TimelineKind } from './sandbox-state';
import type { OwnedNode } from '../shared/model';
import { assembleSandboxState, primaryIpOf } from './sandbox-state-builder';
import { grpcBootstrap, XdsTraffic } from './traffic/xds-traffic';
import { imageOf, RolloutRefused, type RolloutContext, type RolloutOptions, type RolloutRequest, type RolloutStepResult } from './rollout';
import { SandboxRollouts } from './rollout-runner';

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

export interface SandboxScaleSetSpec {
  readonly name: string;
  readonly mode: 'Uniform' | 'Flexible';
  readonly service: string;
  readonly port: number;
  readonly zones: readonly string[];
}

/** The two scale sets every sandbox has. Both serve gRPC (the data plane here is a proxyless client). */
export const SANDBOX_SCALE_SETS: readonly SandboxScaleSetSpec[] = [
  { name: 'orders', mode: 'Uniform', service: 'orders', port: 9090, zones: ['1', '2', '3'] },
  { name: 'catalog', mode: 'Flexible', service: 'catalog', port: 9091, zones: ['1', '2'] },
];
const HTTP_PORT = 8080;
/** The longest one part of the sandbox may take to stop before close() goes on without it. */
const CLOSE_STEP_TIMEOUT_MS = 10_000;
/** The push token of the sandbox's relay (the chaos soak pushes as the Functions app would). */
export const SANDBOX_RELAY_TOKEN = 'sandbox-push-token';

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

export interface EventGridFeedStats {
  readonly deliveries: number;
  readonly failedFirstAttempts: number;
  readonly redeliveries: number;
  /** Deliveries accepted only after a redelivery. */
  readonly acceptedAfterRetry: number;
  /** Deliveries given up: not retryable, or out of attempts. */
  readonly givenUp: number;
  /** Deliveries not answered yet or waiting for a redelivery (0: the feed is idle). */
  readonly unsettled: number;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const log = options.log ?? (() => undefined);
  const cleanups: Array<{ readonly what: string; readonly run: () => Promise<void> | void }> = [];
  const onClose = (what: string, run: () => Promise<void> | void) => void cleanups.push({ what, run });
  const stuckParts: string[] = [];
  const close = async () => {
    // In reverse order of start; each part gets a bounded time, so one stuck part cannot keep
    // the sandbox (or the test that started it) from ending.
    for (const { what, run } of cleanups.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), CLOSE_STEP_TIMEOUT_MS)));
      try {
        const outcome = await Promise.race([Promise.resolve(run()), stuck]);
        if (outcome === 'stuck') {
          stuckParts.push(what);
          log(`while stopping: ${what} did not stop within ${CLOSE_STEP_TIMEOUT_MS} ms; going on`);
        }
      } catch (error) {
        log(`while stopping ${what}: ${errorMessage(error)}`);
      } finally {
        clearTimeout(timer);
      }
    }
  };
  try {
    const timeline: TimelineEntry[] = [];
    const note = (kind: TimelineKind, summary: string) => {
      timeline.push({ at: new Date().toISOString(), kind, summary });
      if (timeline.length > 200) timeline.splice(0, timeline.length - 200);
    };

    // The instances' loopback addresses: a block no other sandbox on this machine is using.
    const block = await claimLoopbackBlock();
    // A part that did not stop may still hold addresses of the block: then the claim stays
    // until this process ends (it never keeps the process alive), so no other sandbox takes them.
    onClose('loopback block claim', () => (stuckParts.length === 0 ? block.release() : log(`keeping the claim on 127.${block.octet}.0.0/16 until this process ends (${stuckParts.join(', ')} did not stop)`)));
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

    const relayConfig = (listen: string) =>
      loadRelayConfig({
        VMSS_MESH_RELAY_LISTEN: listen,
        VMSS_MESH_RELAY_ADMIN_LISTEN: `127.0.0.1:${options.relayAdminPort ?? 18001}`,
        VMSS_MESH_RELAY_TOKEN: SANDBOX_RELAY_TOKEN,
        CONSUL_HTTP_ADDR: consul.url,
        VMSS_MESH_RELAY_WATCH_MIN_INTERVAL_MS: '50',
      });
    const relayLog = pino({ level: 'silent' });
    let relay = await startRelay(relayConfig(`127.0.0.1:${options.relayPort ?? 18000}`), { log: relayLog, processMetrics: false });
    const relayAddress = relay.xdsAddress;
    onClose('relay', () => relay.close());
    await relay.ready;

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
      log: (record) => hostRecord(record),
    });
    onClose('ARM emulator and Functions host', () => world.close());
    // Runs before world.close (cleanups run in reverse): no delivery is left half-way.
    onClose('Event Grid deliveries', async () => {
      closing = true;
      await deliveries;
      // Redeliveries still waiting for their turn are dropped (an attempt in flight is aborted).
      stopRetries.abort();
      await Promise.allSettled([...retrying]);
    });
    const arm = world.arm.world;
    /** A scale set's instances; none once it is gone (a rollout deletes the old scale set). */
    const instancesIn = (scaleSetIdOrName: string) => (arm.getScaleSet(selectorOf(scaleSetIdOrName)) ? arm.listInstances(selectorOf(scaleSetIdOrName)) : []);

    /** Sweeps ended since the last delivery acknowledged as 'queued'; undefined when none is waiting for a sweep. */
    let sweepsSinceQueued: number | undefined;
    // Timeline entries from the app's own log lines (reconciles and their pushes).
    const hostRecord = (record: HostLogRecord) => {
      if (record.level === 'error' || record.level === 'warning') note('sandbox', `${record.functionName}: ${record.message.slice(0, 200)}`);
      if (!record.message.startsWith('{')) return;
      let line: { event?: string; msg?: string; outcome?: string; changedServices?: string[]; failedPushes?: unknown[] };
      try {
        line = JSON.parse(record.message) as typeof line;
      } catch {
        return;
      }
      // Sweeps run one at a time: the second to end after a 'queued' acknowledgement began after it.
      if (line.event === 'reconcile' && line.outcome === 'queued') sweepsSinceQueued = 0;
      if (line.event === 'sweep' && sweepsSinceQueued !== undefined && ++sweepsSinceQueued >= 2) sweepsSinceQueued = undefined;
      if (line.event === 'reconcile' && line.msg && !/unchanged|covered/.test(line.msg)) {
        note('reconcile', line.msg);
        if (line.changedServices?.length) note('push', `pushed ${line.changedServices.join(', ')} to the relay${line.failedPushes ? ' (some pushes failed)' : ''}`);
      }
      // Sweeps that changed nothing are routine; only the ones that did something make the timeline.
      if (line.event === 'sweep' && line.msg && !/: \+0 ~0 -0,/.test(line.msg)) note('reconcile', `timer: ${line.msg}`);
    };

    // Backends follow ARM: one per instance (keyed like ARM: scale set + instance id), up while the VM exists.
    const instanceKey = (scaleSetId: string, instanceId: string) => `${scaleSetId}/${instanceId}`.toLowerCase();
    const backends = new Map<string, DemoBackend>();
    const starting = new Set<Promise<unknown>>();
    let closing = false;
    // The scale sets the sandbox runs backends for: its own two, plus any a rollout creates.
    const specs: SandboxScaleSetSpec[] = [...SANDBOX_SCALE_SETS];
    const specOf = (scaleSetId: string) => specs.find((s) => scaleSetId.toLowerCase().endsWith(`/${s.name}`));
    const exists = (key: string, scaleSetId: string) => instancesIn(scaleSetId).some((i) => instanceKey(i.scaleSetId, i.instanceId) === key);
    const ensureBackend = async (instance: EmulatedInstance) => {
      const spec = specOf(instance.scaleSetId);
      const key = instanceKey(instance.scaleSetId, instance.instanceId);
      if (!spec || backends.has(key) || closing) return;
      const pending = startDemoBackend({ instanceName: instance.name, address: primaryIpOf(instance), httpPort: HTTP_PORT, grpcPort: spec.port });
      starting.add(pending);
      try {
        const backend = await pending;
        // A start that finishes after close, or after its VM is gone, is stopped at once.
        if (closing || !exists(key, instance.scaleSetId)) await backend.close();
        else backends.set(key, backend);
      } finally {
        starting.delete(pending);
      }
    };
    onClose('instance backends', async () => {
      closing = true;
      await Promise.allSettled([...starting]);
      await Promise.all([...backends.values()].map((b) => b.close()));
    });

    // Event Grid: each ARM operation is delivered when it is accepted and again when it completes
    // (instances provisioned or deleted), as Azure sends the write event at completion. First
    // attempts go one after the other; a failed one is retried in the background on Event Grid's
    // (compressed) schedule, the same events again, while later deliveries go on.
    let eventChaos = false;
    let deliveries = Promise.resolve();
    const redelivery = options.eventGridRedelivery ?? SANDBOX_REDELIVERY;
    if (redelivery) checkPolicy(redelivery);
    const retrying = new Set<Promise<unknown>>();
    const stopRetries = new AbortController();
    const lastOperation = new Map<string, ArmOperationRecord>();
    let seed = 1;
    const stats = { deliveries: 0, failedFirstAttempts: 0, redeliveries: 0, acceptedAfterRetry: 0, givenUp: 0 };
    let queued = 0;
    const deliverOne = async (delivery: Delivery, label: string): Promise<AttemptResult> => {
      if (!redelivery) return attemptDelivery(world.host.url, delivery, 0, SANDBOX_REDELIVERY.timeoutMs);
      return new Promise<AttemptResult>((first) => {
        const whole = deliverUntilAccepted(world.host.url, delivery, {
          policy: redelivery,
          signal: stopRetries.signal,
          onFirstAttempt: first,
          onAttempt: (attempt, result) => {
            if (attempt > 0) stats.redeliveries += 1;
            if (attempt > 0) note('event-delivered', `${label}: redelivery ${attempt} of ${delivery.events.length} event(s) → ${describeAttempt(result)}`);
          },
        });
        const settled = whole.then(
          (outcome) => {
            if (outcome.result === 'accepted' && outcome.attempts > 1) stats.acceptedAfterRetry += 1;
            if (outcome.result === 'not-retryable' || outcome.result === 'attempts-exhausted') stats.givenUp += 1;
            if (outcome.result !== 'accepted' && outcome.attempts > 1) note('event-delivered', `${label}: ${delivery.events.length} event(s) given up after ${outcome.attempts} attempt(s): ${outcome.result}`);
          },
          (error: unknown) => {
            first({ error: errorMessage(error) });
            note('event-delivered', `${label}: redelivery failed: ${errorMessage(error)}`);
          },
        );
        retrying.add(settled);
        void settled.finally(() => retrying.delete(settled));
      });
    };
    const deliver = (all: readonly ArmOperationRecord[], label: string) => {
      const operations = options.beforeDelivery ? options.beforeDelivery(all) : all;
      if (closing || operations.length === 0) return;
      queued += 1;
      deliveries = deliveries
        .then(async () => {
          if (closing) return;
          const chaos = eventChaos ? { duplicateRate: 0.5, reorder: true } : {};
          const answers: string[] = [];
          for (const delivery of buildDeliveries(operations, { seed: seed++, maxEventsPerBatch: 10, ...chaos })) {
            const first = await deliverOne(delivery, label);
            stats.deliveries += 1;
            if (!('status' in first && isAccepted(first.status))) stats.failedFirstAttempts += 1;
            answers.push(describeAttempt(first).replace(/^HTTP /, ''));
          }
          note('event-delivered', `${label}: ${operations.length} event(s)${eventChaos ? ' with chaos (duplicates, reordered)' : ''} → ${answers.join(',')}`);
        })
        // One failed delivery must not stop the later ones (Event Grid keeps delivering too).
        .catch((error: unknown) => note('event-delivered', `${label}: delivery failed: ${errorMessage(error)}`))
        .finally(() => void (queued -= 1));
    };
    /** The (normalised) scale set an operation concerns; a Flexible VM's is found among the sandbox's sets. */
    const scaleSetOfOperation = (op: ArmOperationRecord): string | undefined => {
      const target = computeTargetOf(parseResourceId(op.resourceUri));
      if (target?.kind === 'scale-set') return target.ref.id;
      if (target?.kind !== 'virtual-machine') return undefined;
      const owner = specs.find((spec) => instancesIn(spec.name).some((i) => i.name.toLowerCase() === target.vmName));
      return owner ? arm.getScaleSet(selectorOf(owner.name))?.id.toLowerCase() : undefined;
    };
    arm.on('operation', (op) => {
      const scaleSet = scaleSetOfOperation(op);
      if (scaleSet) lastOperation.set(scaleSet, op);
      note('arm-operation', `${op.operationName.replace('Microsoft.Compute/', '')} ${op.resourceUri.split('/').pop()}`);
      deliver([op], 'Event Grid');
    });
    const provisioning = new Map<string, string>();
    arm.on('change', (change: WorldChange) => {
      if (!('instanceId' in change)) return;
      const key = instanceKey(change.scaleSetId, change.instanceId);
      const instance = instancesIn(change.scaleSetId).find((i) => i.instanceId === change.instanceId);
      if (change.kind === 'instance-created' && instance) void ensureBackend(instance).catch((e) => log(`backend for ${instance.name}: ${errorMessage(e)}`));
      const completed = change.kind === 'instance-removed' || (instance?.provisioningState === 'Succeeded' && provisioning.get(key) === 'Creating');
      if (change.kind === 'instance-removed') {
        provisioning.delete(key);
        const backend = backends.get(key);
        backends.delete(key);
        void backend?.close();
      } else if (instance) {
        provisioning.set(key, instance.provisioningState);
      }
      const op = lastOperation.get(change.scaleSetId.toLowerCase());
      if (completed && op) deliver([{ ...op, eventTime: new Date().toISOString() }], 'Event Grid (operation completed)');
    });

    arm.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
    for (const spec of SANDBOX_SCALE_SETS) {
      arm.createScaleSet({
        subscriptionId: SANDBOX_SUBSCRIPTION,
        resourceGroup: SANDBOX_RESOURCE_GROUP,
        name: spec.name,
        orchestrationMode: spec.mode,
        zones: spec.zones,
        capacity: 0,
        tags: { 'vmss-mesh-service': spec.service, 'vmss-mesh-port': String(spec.port), 'vmss-mesh-protocol': 'grpc' },
      });
      arm.scale(selectorOf(spec.name), options.initialCapacity ?? 2);
    }

    // Steady traffic per service, through the relay, from the real xDS client.
    const traffic = new Map<string, XdsTraffic>();
    for (const spec of options.traffic === false ? [] : SANDBOX_SCALE_SETS) {
      const client = new XdsTraffic({ service: spec.service, bootstrap: grpcBootstrap({ serverUri: relayAddress, nodeId: `sandbox-client-${spec.service}` }), concurrency: 1, pauseMs: 20 });
      traffic.set(spec.service, client);
      onClose(`traffic client of ${spec.service}`, () => client.close());
    }
    const started = Date.now();
    onClose('traffic', () => Promise.all([...traffic.values()].map((t) => t.stop())).then(() => undefined));
    // Steady traffic starts once the service first answers (its instances take a while to be
    // created): calls before that are the service not existing yet, not failures of the mesh.
    for (const client of traffic.values()) {
      void client
        .warmUp(120_000)
        .then(() => {
          if (!closing) client.start();
        })
        .catch((error: unknown) => log(`traffic: ${errorMessage(error)}`));
    }

    // State: rebuilt on a short cadence, listeners told only when it changed.
    const registry = new ConsulRegistry(registryOptionsFrom(loadConfig({ VMSS_MESH_SUBSCRIPTIONS: SANDBOX_SUBSCRIPTION, CONSUL_HTTP_ADDR: consul.url })));
    onClose('Consul registry client', () => registry.close());
    const listeners = new Set<() => void>();
    // Waiters get the first state whose build started after they asked.
    const waiters: Array<{ readonly after: number; readonly resolve: (s: SandboxState) => void }> = [];
    let buildsStarted = 0;
    let acked = new Map<string, string>();
    let current: SandboxState | undefined;
    let lastOwned: readonly OwnedNode[] = [];
    let currentKey = '';
    const windowMs = (options.trafficWindowSeconds ?? 5) * 1000;
    const refreshed = () => new Promise<SandboxState>((resolve) => waiters.push({ after: buildsStarted, resolve }));
    // Blue/green rollouts (one at a time): the sandbox's scale sets, ARM, the relay and the traffic they need.
    const rolloutContext: RolloutContext = {
      arm,
      relay: () => relay,
      selectorOf,
      specs: () => specs,
      addSpec: (spec) => void specs.push(spec),
      removeSpec: (name) => void specs.splice(0, specs.length, ...specs.filter((s) => s.name !== name)),
      refreshed,
      registeredAddresses: () => lastOwned.map((node) => node.address),
      traffic: (service) => {
        const client = traffic.get(service);
        return client ? [client] : [];
      },
    };
    const rollouts = new SandboxRollouts(rolloutContext, (line) => note('sandbox', line));
    onClose('rollout', () => rollouts.close());
    const build = async (): Promise<SandboxState> => {
      const owned = await registry.listOwned();
      lastOwned = owned;
      const since = Math.max(Date.now() - windowMs, started);
      let requests = 0;
      let failed = 0;
      let failedTotal = 0;
      const servedBy = new Map<string, number>();
      for (const client of traffic.values()) {
        const shares = client.shares(since);
        requests += shares.calls;
        failed += shares.failed;
        failedTotal += client.totals().failed;
        for (const [name, count] of shares.perInstance) servedBy.set(name, count);
      }
      const clients = relay.ads.clients();
      const nextAcked = new Map<string, string>();
      for (const c of clients) {
        const version = JSON.stringify(c.lastAckedVersion);
        nextAcked.set(c.nodeId, version);
        if (acked.get(c.nodeId) !== version) note('client-ack', `${c.nodeId} ACKed ${Object.entries(c.lastAckedVersion).map(([k, v]) => `${k}@${v.slice(0, 8)}`).join(' ')}`);
      }
      acked = nextAcked;
      return assembleSandboxState({
        endpoints: { armEmulator: world.arm.url, consul: consul.url, consulKind, functionsHost: world.host.url, relayXds: relayAddress, relayAdmin: relay.adminUrl, statusPage: '' },
        rollout: rollouts.current(),
        scaleSets: specs.map((spec) => ({ spec, set: arm.getScaleSet(selectorOf(spec.name)), instances: instancesIn(spec.name) })),
        owned,
        servedBy,
        traffic: { windowSeconds: windowMs / 1000, requests, failed, failedTotal },
        clients,
        eventChaos,
        timeline,
        now: Date.now(),
      });
    };
    let refreshing = false;
    const refresh = async () => {
      if (refreshing) return;
      refreshing = true;
      const generation = ++buildsStarted;
      try {
        const next = await build();
        current = next;
        const key = JSON.stringify({ ...next, generatedAt: '' });
        if (key !== currentKey) {
          currentKey = key;
          for (const l of [...listeners]) l();
        }
        for (const w of waiters.filter((x) => x.after < generation)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(next);
        }
      } catch (error) {
        log(`state refresh failed: ${errorMessage(error)}`);
      } finally {
        refreshing = false;
      }
    };
    const timer = setInterval(() => void refresh(), options.refreshMs ?? 250);

    // Azure Monitor autoscale, simulated from the traffic each scale set serves.
    if (options.autoscaleIntervalMs) {
      const lastAction = new Map<string, number>();
      const evaluate = async () => {
        for (const spec of specs) {
          const set = arm.getScaleSet(selectorOf(spec.name));
          const client = traffic.get(spec.service);
          if (!set || !client) continue;
          const windowStart = Math.max(started, Date.now() - windowMs);
          const seconds = Math.max(1, (Date.now() - windowStart) / 1000);
          const decision = decideAutoscale(DEFAULT_AUTOSCALE_RULE, {
            capacity: set.capacity,
            requestsPerSecond: client.shares(windowStart).calls / seconds,
            instanceCapacityRps: 30,
            lastActionAt: lastAction.get(spec.name) ?? 0,
            now: Date.now(),
          });
          if (decision.action !== 'scale') continue;
          lastAction.set(spec.name, Date.now());
          note('sandbox', `autoscale ${spec.name}: ${decision.why} → capacity ${set.capacity} → ${decision.newCapacity}`);
          arm.scale(selectorOf(spec.name), decision.newCapacity);
          const body = autoscaleNotification({ resourceId: set.id, oldCapacity: set.capacity, newCapacity: decision.newCapacity, timestamp: new Date().toISOString(), settingName: `${spec.name}-autoscale` });
          const response = await postWebhook(world.host.url, autoscaleRequest(body));
          note('event-delivered', `autoscale webhook → ${response.status}`);
        }
      };
      const autoscaleTimer = setInterval(() => void evaluate().catch((e) => log(`autoscale: ${errorMessage(e)}`)), options.autoscaleIntervalMs);
      onClose('autoscale', () => clearInterval(autoscaleTimer));
    }
    onClose('state refresh', () => clearInterval(timer));

    current = await build(); // a sandbox whose state cannot be read does not start
    note('sandbox', 'sandbox started');

    return {
      world,
      consulKind,
      relay: () => relay,
      traffic,
      state: () => current!,
      ownedNodes: () => lastOwned,
      eventGridStats: () => ({ ...stats, unsettled: queued + retrying.size }),
      functionsInFlight: () => {
        const host = world.host.inFlight?.();
        return host === undefined ? undefined : host + (sweepsSinceQueued === undefined ? 0 : 1);
      },
      onChange(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      async act(action) {
        switch (action.action) {
          case 'scale': {
            const spec = specs.find((s) => s.name === action.scaleSet);
            if (!spec) return { ok: false, message: `no scale set ${JSON.stringify(action.scaleSet)} (there are ${specs.map((s) => s.name).join(', ')})` };
            arm.scale(selectorOf(spec.name), action.capacity);
            return { ok: true, message: `scaling ${spec.name} to ${action.capacity}` };
          }
          case 'fail':
          case 'heal': {
            for (const spec of specs) {
              const instance = instancesIn(spec.name).find((i) => i.name === action.instance);
              if (!instance) continue;
              arm.setHealth(selectorOf(spec.name), instance.instanceId, action.action === 'fail' ? 'Unhealthy' : 'Healthy');
              const backend = backends.get(instanceKey(instance.scaleSetId, instance.instanceId));
              backend?.setServing(action.action === 'fail' ? 'NOT_SERVING' : 'SERVING');
              if (action.action === 'heal') backend?.setFailEvery(0);
              note('sandbox', `${instance.name} ${action.action === 'fail' ? 'fails (application health Unhealthy)' : 'is healthy again'}`);
              return { ok: true, message: `${instance.name}: ${action.action}` };
            }
            return { ok: false, message: `no instance ${JSON.stringify(action.instance)}` };
          }
          case 'fail-half': {
            for (const spec of specs) {
              const instance = instancesIn(spec.name).find((i) => i.name === action.instance);
              const backend = instance && backends.get(instanceKey(instance.scaleSetId, instance.instanceId));
              if (!instance) continue;
              if (!backend) return { ok: false, message: `${instance.name} has no running backend yet (${instance.provisioningState})` };
              // Its health probe stays Healthy: the instance is in rotation and fails calls, the case retries are for.
              backend.setFailEvery(2);
              note('sandbox', `${instance.name} fails every other call with UNAVAILABLE (health still Healthy)`);
              return { ok: true, message: `${instance.name}: fails half its calls with UNAVAILABLE until heal` };
            }
            return { ok: false, message: `no instance ${JSON.stringify(action.instance)}` };
          }
          case 'rollout': {
            let plan;
            try {
              ({ plan } = rollouts.start(action));
            } catch (error) {
              if (error instanceof RolloutRefused) return { ok: false, message: error.message };
              throw error;
            }
            return { ok: true, message: `rollout ${rollouts.current()!.id} started: ${plan.from.name} → ${plan.to} (${imageOf(plan)}), steps ${plan.steps.join(', ')} %` };
          }
          case 'event-chaos':
            eventChaos = action.enabled;
            note('sandbox', `event chaos ${eventChaos ? 'on: duplicated and reordered deliveries' : 'off'}`);
            return { ok: true, message: `event chaos ${eventChaos ? 'on' : 'off'}` };
        }
      },
      async restartRelay() {
        note('sandbox', 'relay restarting');
        await relay.close();
        relay = await startRelay(relayConfig(relayAddress), { log: relayLog, processMetrics: false });
        await relay.ready;
        note('sandbox', 'relay back (state loaded from Consul)');
      },
      refreshed,
      instanceStats: (name) => {
        const backend = [...backends.values()].find((b) => b.instanceName === name);
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

/** The ARM world's selector of a sandbox scale set, from its name or resource ID. */
export function selectorOf(scaleSetIdOrName: string) {
  return { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: scaleSetIdOrName.split('/').pop()! };
}
