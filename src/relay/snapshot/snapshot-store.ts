/**
 * The relay's current snapshots, one per client profile (implements SnapshotSource).
 *
 * `publish(state)` builds both profiles from MeshState, checks that each is consistent, and only
 * then swaps them in and tells listeners (synchronously) which profiles changed. Published
 * snapshots are frozen and never altered.
 *
 * Work and memory stay proportional to what changed: a service whose endpoint set has the same
 * content as last time (same object, or equal fields — the Consul index alone changes nothing) is
 * not rebuilt; a rebuilt resource whose bytes did not change keeps its previous EncodedResource
 * object; a service's ClusterLoadAssignment is one object shared by both profiles.
 *
 * Listeners hear every publish, also before `markReady()` (streams should check `ready()` before
 * answering); `markReady()` then calls them once with both profiles.
 *
 * Not thread-safe in the worker sense: call it from one event loop (the relay's coalescer).
 */
import { sameEndpointSetContent, type ServiceEndpointSet } from '../../shared/endpoints';
import { InvalidInputError } from '../../shared/errors';
import type { MeshState } from '../mesh-state';
import { type BuildOptions, resolveBuildOptions, type ResourceBuildOptions } from '../resources/build-options';
import { validateGatewayRoutes, type RoutedService } from '../resources/gateway-routes';
import {
  assembleProfiles,
  buildGatewaySpecs,
  buildPlaceholderSpecs,
  buildServiceSpecs,
  type GatewayParts,
  isServableName,
  type PlaceholderParts,
  placeholderServices,
  type ServiceParts,
  type SubsetParts,
} from '../resources/profile-resources';
import type { ClientProfile } from '../xds/client-profile';
import { encodeResource, reuseIfUnchanged } from '../xds/encode';
import { referencesOf } from '../xds/kinds';
import type { EncodedResource, ResourceKind, ResourceSpec } from '../xds/resource-kind';
import { consistencyProblems, type ReferencingResource } from './consistency';
import { snapshotOf, emptySnapshot } from './snapshot-build';
import type { Snapshot, SnapshotSource } from './snapshot-types';

export const CLIENT_PROFILES: readonly ClientProfile[] = ['envoy-gateway', 'proxyless-grpc'];

/** An encoded resource with what it refers to (for the consistency check). */
interface Entry extends ReferencingResource {
  readonly encoded: EncodedResource;
}

interface CachedService {
  input: ServiceEndpointSet;
  readonly parts: ServiceParts<Entry>;
  readonly notes: readonly string[];
  /** What the gateway's routes to the service need (its protocol and routing). */
  readonly routed: RoutedService;
}

export interface PublishResult {
  /** Profiles whose snapshot version changed (listeners got the same set). */
  readonly changed: ReadonlySet<ClientProfile>;
  readonly versions: Readonly<Record<ClientProfile, string>>;
  /** Services whose resources were rebuilt by this publish (new or changed content). */
  readonly rebuiltServices: readonly string[];
  /** What was left out and why, for services rebuilt or left out by this publish. */
  readonly notes: readonly string[];
}

export interface SnapshotStoreOptions extends ResourceBuildOptions {
  /**
   * Called when a change listener throws. Default: after every listener has run, `publish` (or
   * `markReady`) rethrows the first error; the snapshot is published either way.
   */
  readonly onListenerError?: (error: unknown) => void;
}

function entryOf(kind: ResourceKind, spec: ResourceSpec, previous: Entry | undefined): Entry {
  const encoded = reuseIfUnchanged(previous?.encoded, encodeResource(kind, spec));
  if (previous && encoded === previous.encoded) return previous;
  return { name: encoded.name, encoded, refs: referencesOf(kind, spec) };
}

export class SnapshotStore implements SnapshotSource {
  readonly options: BuildOptions;
  private readonly onListenerError: ((error: unknown) => void) | undefined;
  private readonly listeners = new Set<(profiles: ReadonlySet<ClientProfile>) => void>();
  private snapshots: Record<ClientProfile, Snapshot>;
  private isReady = false;
  private readonly services = new Map<string, CachedService>();
  private readonly placeholders = new Map<string, PlaceholderParts<Entry>>();
  private leftOut = new Map<string, ServiceEndpointSet>();
  private gateway: { key: string; parts: GatewayParts<Entry> } | undefined;

  constructor(options: SnapshotStoreOptions = {}) {
    this.options = resolveBuildOptions(options);
    this.onListenerError = options.onListenerError;
    const empty = emptySnapshot();
    this.snapshots = { 'envoy-gateway': empty, 'proxyless-grpc': empty };
  }

  current(profile: ClientProfile): Snapshot {
    return this.snapshots[profile];
  }

  ready(): boolean {
    return this.isReady;
  }

  onChange(listener: (profiles: ReadonlySet<ClientProfile>) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Marks the first complete state as loaded. Listeners are called with every profile, so streams
   * waiting for readiness get answered.
   */
  markReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.notify(new Set(CLIENT_PROFILES));
  }

  /** Notes on everything currently left out (bad endpoints, unservable service names). */
  notes(): string[] {
    return [...[...this.services.values()].flatMap((s) => s.notes), ...[...this.leftOut.keys()].map(leftOutNote)];
  }

  /**
   * Builds, checks and publishes both profiles' snapshots. Throws InvalidInputError (and publishes
   * nothing) when the gateway routes are invalid, a service is filed under another name, or a
   * snapshot would be inconsistent.
   */
  publish(state: MeshState): PublishResult {
    const routeProblems = validateGatewayRoutes(state.gatewayRoutes);
    if (routeProblems.length > 0) throw new InvalidInputError(`invalid gateway routes: ${routeProblems.join('; ')}`);
    for (const [key, set] of state.services) {
      if (key !== set.service) throw new InvalidInputError(`holds the endpoint set of ${JSON.stringify(set.service)}`, `services[${JSON.stringify(key)}]`);
    }

    const notes: string[] = [];
    const rebuiltServices: string[] = [];
    const leftOut = new Map<string, ServiceEndpointSet>();
    const routed = new Map<string, RoutedService>();
    for (const [name, set] of state.services) {
      if (!isServableName(name)) {
        leftOut.set(name, set);
        if (this.leftOut.get(name) !== set) notes.push(leftOutNote(name));
        continue;
      }
      const cached = this.services.get(name);
      if (cached && sameEndpointSetContent(cached.input, set)) {
        cached.input = set; // identity check first next time
        routed.set(name, cached.routed);
        continue;
      }
      // A service that was only a gateway placeholder keeps those objects where the bytes match.
      const rebuilt = this.rebuildService(set, cached?.parts ?? this.placeholders.get(name));
      routed.set(name, rebuilt.routed);
      this.services.set(name, rebuilt);
      rebuiltServices.push(name);
      notes.push(...rebuilt.notes);
    }
    const removed = new Map<string, PlaceholderParts<Entry>>();
    for (const [name, cached] of [...this.services]) {
      if (routed.has(name)) continue;
      removed.set(name, cached.parts);
      this.services.delete(name);
    }
    this.leftOut = leftOut;

    const placeholderNames = placeholderServices(state, new Set(routed.keys()));
    for (const name of [...this.placeholders.keys()]) if (!placeholderNames.includes(name)) this.placeholders.delete(name);
    for (const name of placeholderNames) {
      if (!this.placeholders.has(name)) {
        const specs = buildPlaceholderSpecs(name, this.options);
        const before = removed.get(name);
        this.placeholders.set(name, {
          loadAssignment: entryOf('endpoint', specs.loadAssignment, before?.loadAssignment),
          gatewayCluster: entryOf('cluster', specs.gatewayCluster, before?.gatewayCluster),
        });
      }
    }
    const gateway = this.gatewayParts(routed, state);

    const profiles = assembleProfiles([...this.services.values()].map((s) => s.parts), this.placeholders.values(), gateway);
    for (const profile of CLIENT_PROFILES) {
      const problems = consistencyProblems(profiles[profile]);
      if (problems.length > 0) throw new InvalidInputError(`the ${profile} snapshot would be inconsistent: ${problems.join('; ')}`);
    }

    const changed = new Set<ClientProfile>();
    const next = { ...this.snapshots };
    for (const profile of CLIENT_PROFILES) {
      const byKind = profiles[profile];
      const snapshot = snapshotOf({
        cluster: byKind.cluster.map((e) => e.encoded),
        endpoint: byKind.endpoint.map((e) => e.encoded),
        listener: byKind.listener.map((e) => e.encoded),
        route: byKind.route.map((e) => e.encoded),
      });
      if (snapshot.version !== this.snapshots[profile].version) {
        next[profile] = snapshot;
        changed.add(profile);
      }
    }
    this.snapshots = next;
    if (changed.size > 0) this.notify(changed);
    return {
      changed,
      versions: { 'envoy-gateway': next['envoy-gateway'].version, 'proxyless-grpc': next['proxyless-grpc'].version },
      rebuiltServices,
      notes,
    };
  }

  private rebuildService(set: ServiceEndpointSet, before: Partial<ServiceParts<Entry>> | undefined): CachedService {
    const specs = buildServiceSpecs(set, this.options);
    const subsets = new Map<string, SubsetParts<Entry>>();
    for (const [name, subset] of specs.subsets) {
      const previous = before?.subsets?.get(name);
      subsets.set(name, {
        loadAssignment: entryOf('endpoint', subset.loadAssignment, previous?.loadAssignment),
        gatewayCluster: entryOf('cluster', subset.gatewayCluster, previous?.gatewayCluster),
        proxylessCluster: entryOf('cluster', subset.proxylessCluster, previous?.proxylessCluster),
      });
    }
    return {
      input: set,
      notes: specs.notes,
      routed: { protocol: set.protocol, routing: specs.routing },
      parts: {
        subsets,
        loadAssignment: entryOf('endpoint', specs.loadAssignment, before?.loadAssignment),
        gatewayCluster: entryOf('cluster', specs.gatewayCluster, before?.gatewayCluster),
        proxylessListener: entryOf('listener', specs.proxylessListener, before?.proxylessListener),
        ...(specs.proxylessRoute ? { proxylessRoute: entryOf('route', specs.proxylessRoute, before?.proxylessRoute) } : {}),
        proxylessCluster: entryOf('cluster', specs.proxylessCluster, before?.proxylessCluster),
      },
    };
  }

  /** The gateway listener and route configuration, rebuilt only when service names, protocols or rules change. */
  private gatewayParts(routed: ReadonlyMap<string, RoutedService>, state: MeshState): GatewayParts<Entry> {
    const key = JSON.stringify([
      [...routed].map(([name, s]) => `${name} ${s.protocol} ${JSON.stringify([s.routing?.target, s.routing?.policy])}`).sort(),
      state.gatewayRoutes.map((r) => [r.host, r.pathPrefix, r.service]),
    ]);
    if (this.gateway?.key === key) return this.gateway.parts;
    const specs = buildGatewaySpecs(routed, state, this.options);
    const parts = {
      listener: entryOf('listener', specs.listener, this.gateway?.parts.listener),
      routeConfig: entryOf('route', specs.routeConfig, this.gateway?.parts.routeConfig),
    };
    this.gateway = { key, parts };
    return parts;
  }

  private notify(profiles: ReadonlySet<ClientProfile>): void {
    let first: { error: unknown } | undefined;
    for (const listener of [...this.listeners]) {
      try {
        listener(profiles);
      } catch (error) {
        if (this.onListenerError) this.onListenerError(error);
        else first ??= { error };
      }
    }
    if (first) throw first.error;
  }
}

function leftOutNote(name: string): string {
  return `service ${JSON.stringify(name)} left out: its name cannot name xDS resources (1–253 letters, digits, ".", "-", "_", starting and ending with a letter or digit)`;
}
