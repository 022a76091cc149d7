/**
 * The relay's Prometheus metrics, on a registry of its own (two relays in one process — tests —
 * never share counters). Every part of the relay reports here through a small adapter:
 *   ADS streams   → metricsHooks() (metrics-hooks.ts, an AdsHooks)
 *   push API      → pushHooks()
 *   push overlays → overlaysEnded (overlayEndObserver, overlay-end-observer.ts)
 *   Consul watch  → watchObserver()
 *   mesh state    → recordPublish()
 *   data age      → DataAges, fed by watchObserver() and pushHooks(), read at each scrape
 * Label values are bounded (profiles, modes, resource kinds, outcomes), never node IDs; the one
 * exception is `service_last_change_age_seconds{service}`, one series per mesh service the relay
 * has seen (the operator asked for each service's age; services are few, instances are not).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PushServerHooks } from '../push/push-server';
import type { PublishInfo } from '../inputs/mesh-state-store';
import { WATCH_STATES, type WatchObserver, type WatchState } from '../inputs/consul-watch';

const PREFIX = 'vmss_mesh_relay_';

export interface RelayMetricsOptions {
  /** Also export Node's process metrics (memory, CPU, event loop lag, GC). Default true. */
  readonly processMetrics?: boolean;
  /** Monotonic clock in ms for the data ages (default performance.now; tests inject one). */
  readonly now?: () => number;
}

/** When the relay last heard from Consul, and when each service last changed. */
class DataAges {
  private lastAnswerAt: number | undefined;
  private readonly services = new Map<string, { index: number | undefined; changedAt: number }>();

  constructor(
    readonly now: () => number,
    private readonly startedAt = now(),
  ) {}

  /** Any answer of the watch (a blocking query that returns unchanged still says the data is current). */
  answered(): void {
    this.lastAnswerAt = this.now();
  }

  /**
   * A Consul answer for a service: a change when its index moved. The first answer for a service the
   * relay already knows (from a publish) only sets the index; for one it does not, it is a change.
   */
  serviceIndex(service: string, index: number): void {
    const known = this.services.get(service);
    if (known && (known.index === index || known.index === undefined)) {
      known.index = index;
      return;
    }
    this.services.set(service, { index, changedAt: this.now() });
  }

  /** A push, or a publish of the state store, that changed what the relay serves for the service. */
  serviceChanged(service: string): void {
    this.services.set(service, { index: this.services.get(service)?.index, changedAt: this.now() });
  }

  /** Only the services served now keep a series (a service gone from the mesh drops out). */
  keepOnly(served: ReadonlySet<string>): void {
    for (const name of this.services.keys()) if (!served.has(name)) this.services.delete(name);
  }

  /** Seconds since Consul last answered (since start when it never did). */
  consulAgeSeconds(): number {
    return (this.now() - (this.lastAnswerAt ?? this.startedAt)) / 1000;
  }

  neverAnswered(): boolean {
    return this.lastAnswerAt === undefined;
  }

  serviceAges(): Array<[string, number]> {
    const now = this.now();
    return [...this.services].map(([name, s]) => [name, (now - s.changedAt) / 1000]);
  }
}

export class RelayMetrics {
  readonly registry = new Registry();

  readonly streams = this.gauge('xds_streams', 'Open ADS streams by client profile and protocol variant.', ['profile', 'mode']);
  readonly streamsOpened = this.counter('xds_streams_opened_total', 'ADS streams opened.', ['profile', 'mode']);
  readonly responses = this.counter('xds_responses_total', 'xDS responses sent (one per version and type on a stream).', ['type', 'profile']);
  readonly responseResources = this.counter('xds_response_resources_total', 'Resources carried by xDS responses.', ['type']);
  readonly responseBytes = this.counter('xds_response_bytes_total', 'Serialized resource bytes sent in xDS responses.', ['type']);
  readonly requests = this.counter('xds_requests_total', 'xDS requests by what they were (initial, ack, nack, subscription-change, stale-nonce).', ['type', 'outcome']);
  readonly nacks = this.counter('xds_nacks_total', 'xDS responses rejected by a client (NACK, error_detail set).', ['type', 'profile']);
  readonly ackLatency = new Histogram({
    name: `${PREFIX}xds_ack_latency_seconds`,
    help: 'Time from sending an xDS response to its ACK.',
    labelNames: ['type'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly pushServices = this.counter('push_services_total', 'Endpoint sets received on the push API, by outcome (accepted, created, ignored-stale).', ['outcome']);
  readonly pushRejected = this.counter('push_requests_rejected_total', 'Push calls refused before reaching the state (unauthenticated, invalid-argument, index-ahead: consul_index too far beyond Consul, index-unverified: Consul could not be read to check it, internal: the relay failed checking it).', ['reason']);
  readonly overlaysEnded = this.counter('push_overlays_ended_total', 'Pushed endpoint sets that stopped being served, by reason (confirmed, contradicted, unlisted, expired, reset, beyond-consul).', ['reason']);
  readonly watchState = this.gauge('consul_watch_state', 'Consul watch state: 1 for the current one of loading, watching, backoff, stopped.', ['state']);
  readonly watchErrors = this.counter('consul_watch_errors_total', 'Failed Consul reads of the watch, by query (initial-load, services, service).', ['query']);
  readonly watchIndex = this.gauge('consul_watch_index', 'X-Consul-Index of the last answer to the service list query.', []);
  readonly watchResets = this.counter('consul_watch_index_resets_total', "Times Consul's index went backwards and a watch loop started over.", ['query']);
  readonly publishes = this.counter('mesh_publishes_total', 'New mesh states handed to the snapshot builder (after coalescing).', []);
  readonly publishedChanges = this.counter('mesh_changes_total', 'Service changes (pushes, watch answers, removals) that went into those states.', []);
  readonly meshServices = this.gauge('mesh_services', 'Services in the last published mesh state.', []);
  readonly meshEndpoints = this.gauge('mesh_endpoints', 'Endpoints in the last published mesh state.', []);
  readonly limitHits = this.counter(
    'limit_hits_total',
    'Calls refused or ended with RESOURCE_EXHAUSTED, by limit: max_node, max_subscription, max_streams, and connections over connections_per_peer (counted per connection) (see docs/relay.md, Limits).',
    ['limit'],
  );
  readonly ready = this.gauge('ready', '1 while the relay answers clients: the first complete state from Consul is served and it is not shutting down.', []);
  private readonly ages: DataAges;
  private lastServices: ReadonlyMap<string, unknown> | undefined;

  constructor(options: RelayMetricsOptions = {}) {
    const ages = new DataAges(options.now ?? (() => performance.now()));
    this.ages = ages;
    new Gauge({
      name: `${PREFIX}consul_data_age_seconds`,
      help: "Seconds since Consul last answered the relay's watch (any query; a blocking query answers at least every VMSS_MESH_RELAY_WATCH_WAIT_SECONDS). Since start while it never has.",
      registers: [this.registry],
      collect() {
        this.set(ages.consulAgeSeconds());
      },
    });
    new Gauge({
      name: `${PREFIX}consul_never_answered`,
      help: '1 until Consul answers the watch for the first time.',
      registers: [this.registry],
      collect() {
        this.set(ages.neverAnswered() ? 1 : 0);
      },
    });
    new Gauge({
      name: `${PREFIX}service_last_change_age_seconds`,
      help: "Seconds since each service last changed for the relay: its Consul index moved (first read included) or a push changed its endpoints.",
      labelNames: ['service'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [service, age] of ages.serviceAges()) this.set({ service }, age);
      },
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.setWatchState('loading');
    this.ready.set(0);
  }

  /** The text exposition format and its content type. */
  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  /**
   * With the published `state`, the service ages are exact: the first publish dates every service
   * loaded from Consul, later ones each service whose endpoint set changed (its content, Consul's
   * index aside), and services no longer served drop out.
   */
  recordPublish(info: PublishInfo, state?: { readonly services: ReadonlyMap<string, unknown> }): void {
    if (state) {
      const previous = this.lastServices;
      this.ages.keepOnly(new Set(state.services.keys()));
      for (const [service, set] of state.services) {
        const before = previous?.get(service);
        // The store hands a re-read service a new object even when nothing but its index moved.
        if (before !== set && (before === undefined || contentKey(before) !== contentKey(set))) this.ages.serviceChanged(service);
      }
      this.lastServices = state.services;
    }
    this.publishes.inc();
    this.publishedChanges.inc(info.changes);
    this.meshServices.set(info.services);
    this.meshEndpoints.set(info.endpoints);
  }

  setWatchState(state: WatchState): void {
    for (const s of WATCH_STATES) this.watchState.set({ state: s }, s === state ? 1 : 0);
  }

  watchObserver(): WatchObserver {
    return {
      onState: (state) => this.setWatchState(state),
      onRead: (what, index) => {
        this.ages.answered();
        if (what === 'services') this.watchIndex.set(index);
        else if (what.startsWith('service:')) this.ages.serviceIndex(what.slice('service:'.length), index);
      },
      onIndexReset: (what) => this.watchResets.inc({ query: queryOf(what) }),
      onError: (what) => this.watchErrors.inc({ query: queryOf(what) }),
    };
  }

  pushHooks(): PushServerHooks {
    return {
      onPush: (_source, results) => {
        for (const r of results) {
          this.pushServices.inc({ outcome: r.outcome });
          if (r.changed) this.ages.serviceChanged(r.service);
        }
      },
      onRejected: (reason) => this.pushRejected.inc({ reason }),
    };
  }

  private counter(name: string, help: string, labelNames: string[]): Counter {
    return new Counter({ name: `${PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  }

  private gauge(name: string, help: string, labelNames: string[]): Gauge {
    return new Gauge({ name: `${PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  }
}

/** An endpoint set's content without its Consul index (the store keeps endpoints in a stable order). */
function contentKey(set: unknown): string {
  return JSON.stringify(set, (key, value: unknown) => (key === 'consulIndex' ? undefined : value));
}

/** `service:<name>` → `service`: service names stay out of label values. */
function queryOf(what: string): string {
  return what.startsWith('service:') ? 'service' : what;
}
