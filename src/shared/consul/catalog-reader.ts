/**
 * The read-only door to what we own in Consul's catalog: our nodes (with their services and
 * checks: owned-reader.ts), our service names, one service's endpoint set (endpoint-sets.ts) and
 * the scale set of the node we hold for a VM. It holds a transport that can only send GETs, so
 * whoever holds a reader cannot write to Consul through it. The registry (registry.ts, the only
 * writer) reads through one on its own transport; the relay holds nothing else.
 */
import type { ConsulConfig } from '../config';
import type { ServiceEndpointSet } from '../endpoints';
import type { OwnedNode } from '../model';
import { NODE_META, SERVICE_TAG, isOwnedNodeMeta } from '../ownership';
import { endpointSetFrom } from './endpoint-sets';
import { ownedNodeMetaFilter, readOwnedNodeRecords, readOwnedState } from './owned-reader';
import type { ConsulGets, OwnedScope, OwnedState } from './owned-reader';
import { ConsulTransport, encodePath, parseAnswer } from './transport';
import type { TransportOptions } from './transport';
import * as wire from './wire';

/**
 * A blocking read: with `index`, Consul answers once its index passes it or after `wait` (a
 * Consul duration, default 5 m); without one (or 0), at once.
 */
export interface WatchIndex {
  readonly index?: number;
  readonly wait?: string;
}

export interface OwnedServiceNames {
  /** X-Consul-Index of the answer (0 when Consul sent none). */
  readonly index: number;
  /** Sorted. */
  readonly services: readonly string[];
}

/** A reader's transport: GETs, and closing its connections. */
export interface ConsulReadTransport extends ConsulGets {
  close(): void;
}

/** Slack on top of Consul's wait (it adds up to wait/16 of jitter) before a blocking read times out. */
const BLOCKING_SLACK_MS = 15_000;
const DEFAULT_WAIT = '5m';

export class CatalogReader {
  /** A reader on connections of its own (the relay's); `close` ends them. */
  static connect(consul: ConsulConfig, options: TransportOptions = {}): CatalogReader {
    return new CatalogReader(new ConsulTransport(consul, options));
  }

  /** An ES private field: not reachable from outside, not even by `reader['…']`. */
  readonly #consul: ConsulReadTransport;

  constructor(consul: ConsulReadTransport) {
    this.#consul = consul;
  }

  /** Our nodes (without services and checks); one request. */
  ownedNodeRecords(scope: OwnedScope = {}): Promise<wire.CatalogNode[]> {
    return readOwnedNodeRecords(this.#consul, scope);
  }

  /** Our nodes with our services and checks, and what else sits on them (owned-reader.ts). */
  ownedState(scope: OwnedScope = {}): Promise<OwnedState> {
    return readOwnedState(this.#consul, scope);
  }

  async ownedNodes(scope: OwnedScope = {}): Promise<OwnedNode[]> {
    return (await this.ownedState(scope)).owned;
  }

  /** The names of services with our tag on our nodes: `/catalog/services` filtered by our node meta. */
  async ownedServiceNames(watch: WatchIndex = {}): Promise<OwnedServiceNames> {
    const res = await this.#consul.call({ method: 'GET', path: '/catalog/services', ...blocking(watch, { 'node-meta': ownedNodeMetaFilter() }) });
    const services = Object.entries(parseAnswer(wire.catalogServices, res.body, 'catalog services'))
      .filter(([, tags]) => tags.includes(SERVICE_TAG))
      .map(([name]) => name)
      .sort();
    return { index: res.index, services };
  }

  /**
   * Our endpoints of one service (our tag, our node meta, with health) and the Consul index they
   * were read at. Hand-registered instances of a service with the same name are not asked for.
   */
  async serviceEndpointSet(service: string, watch: WatchIndex = {}): Promise<ServiceEndpointSet> {
    const res = await this.#consul.call({
      method: 'GET',
      path: `/health/service/${encodePath(service)}`,
      ...blocking(watch, { tag: SERVICE_TAG, 'node-meta': ownedNodeMetaFilter() }),
    });
    return endpointSetFrom(service, res.index, parseAnswer(wire.healthServiceEntries, res.body, `health service ${service}`));
  }

  /** `serviceEndpointSet` of each named service (once each), sorted by name. */
  serviceEndpoints(services: readonly string[], watch: WatchIndex = {}): Promise<ServiceEndpointSet[]> {
    return Promise.all([...new Set(services)].sort().map((service) => this.serviceEndpointSet(service, watch)));
  }

  /**
   * The scale set of the node we hold for a VM (normalised VM resource ID), or null. Used when ARM
   * can no longer say: a deleted Flexible-mode VM answers 404, but its node still names its set.
   */
  async scaleSetOfInstance(vmResourceId: string): Promise<string | null> {
    const id = vmResourceId.toLowerCase();
    const res = await this.#consul.call({ method: 'GET', path: '/catalog/nodes', query: { 'node-meta': [...ownedNodeMetaFilter(), `${NODE_META.instanceId}:${id}`] } });
    const node = parseAnswer(wire.catalogNodes, res.body, 'catalog nodes').find((n) => isOwnedNodeMeta(n.Meta) && n.Meta[NODE_META.instanceId] === id);
    return node?.Meta[NODE_META.scaleSetId] ?? null;
  }

  /** Ends in-flight reads (they reject) and frees the connections. */
  close(): void {
    this.#consul.close();
  }
}

/** The query (plus `index` and `wait` for a blocking read) and, for a blocking read, its deadline. */
function blocking(watch: WatchIndex, query: Readonly<Record<string, string | readonly string[]>>) {
  if (!watch.index) return { query };
  const wait = watch.wait ?? DEFAULT_WAIT;
  return { query: { ...query, index: String(watch.index), wait }, timeoutMs: waitMs(wait) + BLOCKING_SLACK_MS };
}

function waitMs(wait: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(wait);
  if (!m) return 300_000;
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[m[2] as string]!;
}
