/**
 * A controllable SnapshotSource for protocol tests. Resources are small but real Envoy messages
 * encoded with Envoy's protos; a resource whose spec did not change keeps the very same
 * EncodedResource object across snapshots (as the real store does), and `encodes` counts how
 * many resources were ever encoded, so tests can prove bytes are shared and never re-encoded.
 */
import type { Snapshot, SnapshotSource } from '../../src/relay/snapshot/snapshot-types';
import type { ClientProfile } from '../../src/relay/xds/client-profile';
import { type EncodedResource, RESOURCE_KINDS, type ResourceKind } from '../../src/relay/xds/resource-kind';
import { encodeResource } from '../../src/relay/xds/encode';
import { envoyType } from '../../src/relay/xds/envoy-protos';
import { XDS_KINDS } from '../../src/relay/xds/kinds';

/** `rev` changes the content (and so the version); clusters may name their CLA. */
export interface FakeResourceSpec {
  readonly rev?: number;
  /** Clusters only: `eds_cluster_config.service_name`. */
  readonly edsServiceName?: string;
}

/** Per kind, resource name → spec (a number is shorthand for `{rev}`). */
export type FakeWorld = Partial<Record<ResourceKind, Readonly<Record<string, number | FakeResourceSpec>>>>;

const PROFILES: readonly ClientProfile[] = ['envoy-gateway', 'proxyless-grpc'];

function messageOf(kind: ResourceKind, name: string, spec: FakeResourceSpec): Record<string, unknown> {
  const rev = spec.rev ?? 1;
  switch (kind) {
    case 'cluster':
      return {
        name,
        type: 'EDS',
        eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, ...(spec.edsServiceName ? { service_name: spec.edsServiceName } : {}) },
        connect_timeout: { seconds: rev },
      };
    case 'endpoint':
      return {
        cluster_name: name,
        endpoints: [
          {
            locality: { zone: 'zone-1' },
            load_balancing_weight: { value: 1 },
            lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 10000 + rev } } }, health_status: 'HEALTHY' }],
          },
        ],
      };
    case 'listener':
      return { name, address: { socket_address: { address: '127.0.0.1', port_value: 20000 + rev } } };
    case 'route':
      return {
        name,
        virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: name, timeout: { seconds: rev } } }] }],
      };
  }
}

/** Encoded as the relay encodes (so a cluster carries its EDS service name), after a strict check. */
export function encodeFakeResource(kind: ResourceKind, name: string, spec: FakeResourceSpec): EncodedResource {
  const message = messageOf(kind, name, spec);
  const type = envoyType(XDS_KINDS[kind].typeName);
  const problem = type.verify(type.fromObject(message));
  if (problem) throw new Error(`fake ${kind} ${name}: ${problem}`);
  return encodeResource(kind, message);
}

function emptySnapshot(version: string): Snapshot {
  return { version, resources: { cluster: new Map(), endpoint: new Map(), listener: new Map(), route: new Map() } };
}

export class FakeSnapshotSource implements SnapshotSource {
  /** Resources encoded so far (each distinct content exactly once). */
  encodes = 0;
  private readonly cache = new Map<string, EncodedResource>();
  private readonly snapshots = new Map<ClientProfile, Snapshot>();
  private readonly listeners = new Set<(profiles: ReadonlySet<ClientProfile>) => void>();
  private versionCounter = 0;
  private isReady: boolean;

  constructor(options: { ready?: boolean; world?: FakeWorld } = {}) {
    this.isReady = options.ready ?? true;
    for (const profile of PROFILES) this.snapshots.set(profile, emptySnapshot('v0'));
    if (options.world) this.build(options.world, PROFILES);
  }

  current(profile: ClientProfile): Snapshot {
    return this.snapshots.get(profile)!;
  }

  ready(): boolean {
    return this.isReady;
  }

  onChange(listener: (profiles: ReadonlySet<ClientProfile>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Turns ready; `announce` = false models a store that does not fire onChange for it. */
  setReady(announce = true): void {
    this.isReady = true;
    if (announce) this.notify(PROFILES);
  }

  /** Replaces the whole world for the given profiles (default both) and notifies. Returns the version. */
  publish(world: FakeWorld, profiles: readonly ClientProfile[] = PROFILES): string {
    const version = this.build(world, profiles);
    this.notify(profiles);
    return version;
  }

  /** The shared object the source holds for a resource (to compare identities). */
  resource(kind: ResourceKind, name: string, profile: ClientProfile = 'proxyless-grpc'): EncodedResource | undefined {
    return this.current(profile).resources[kind].get(name);
  }

  private build(world: FakeWorld, profiles: readonly ClientProfile[]): string {
    const version = `v${++this.versionCounter}`;
    const snapshot = emptySnapshot(version);
    for (const kind of RESOURCE_KINDS) {
      const map = snapshot.resources[kind] as Map<string, EncodedResource>;
      for (const [name, raw] of Object.entries(world[kind] ?? {})) {
        const spec: FakeResourceSpec = typeof raw === 'number' ? { rev: raw } : raw;
        const key = `${kind}\u0000${name}\u0000${spec.rev ?? 1}\u0000${spec.edsServiceName ?? ''}`;
        let resource = this.cache.get(key);
        if (!resource) {
          resource = encodeFakeResource(kind, name, spec);
          this.encodes++;
          this.cache.set(key, resource);
        }
        map.set(name, resource);
      }
    }
    for (const profile of profiles) this.snapshots.set(profile, snapshot);
    return version;
  }

  private notify(profiles: readonly ClientProfile[]): void {
    const set = new Set(profiles);
    for (const listener of [...this.listeners]) listener(set);
  }
}
