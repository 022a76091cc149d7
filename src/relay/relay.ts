/**
 * The relay's composition root: `startRelay(config)` wires
 *
 *   push API ──┐                                   ┌── ADS (SotW + Delta) ──► clients
 *              ├─► MeshStateStore ─(coalesced)─► SnapshotStore
 *   Consul watch┘   newest index wins              └── admin HTTP (/readyz, /metrics, /debug/*)
 *
 * on one gRPC server (ADS + push) and one admin HTTP server. Readiness: the watch loads every
 * service from Consul, the store publishes that state once, the SnapshotStore builds it and only
 * then is marked ready — streams opened earlier are answered at that moment, not before.
 *
 * The gRPC server runs with the limits of config.limits (src/relay/limits): message size, node and
 * subscription size, streams per connection and in total, connections per client address,
 * keepalive and idle timeouts. It accepts connections through a listener of its own
 * (limits/connection-limits.ts) so connections can be counted per client address.
 *
 * Shutdown (`close()`): readiness turns false, new streams are refused and open ones end with
 * UNAVAILABLE (xDS clients keep the configuration they have and reconnect elsewhere or later),
 * in-flight push calls get `shutdownGraceMs` to finish, then the watch and admin server stop.
 */
import * as grpc from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import { errorMessage } from '../shared/errors';
import { createAdsService, type AdsService } from './ads/ads-service';
import { startAdminServer, type AdminServer, type Readiness } from './admin/admin-server';
import { configDump } from './admin/config-dump';
import { combineHooks, combineObservers, combinePushHooks } from './admin/hook-fan-out';
import { adsLogHooks, pushLogHooks, watchLogObserver } from './admin/log-hooks';
import { RelayMetrics } from './admin/metrics';
import { metricsHooks } from './admin/metrics-hooks';
import { overlayEndObserver } from './admin/overlay-end-observer';
import { consulWatchSource, type WatchSource } from './inputs/consul-source';
import { ConsulWatch } from './inputs/consul-watch';
import { MeshStateStore } from './inputs/mesh-state-store';
import type { MeshState } from './mesh-state';
import { shutdownGrpcServer } from './grpc-shutdown';
import { ConnectionLimiter, connectionLimitInterceptor, listenLimited } from './limits/connection-limits';
import type { RelayLimits } from './limits/limit-settings';
import { createPushService } from './push/push-server';
import { formatHostPort, type RelayConfig } from './relay-config';
import { SnapshotStore } from './snapshot/snapshot-store';
import type { SnapshotSource } from './snapshot/snapshot-types';

export interface RelayDependencies {
  /** Default: pino at the configured level, on stderr. */
  readonly log?: Logger;
  /** Where the watch reads Consul; default the real Consul at `config.consul` (tests may script it). */
  readonly watchSource?: WatchSource;
  /** Export Node's process metrics too; default true. */
  readonly processMetrics?: boolean;
}

export interface Relay {
  /** `host:port` clients can dial (a wildcard listen address is given as loopback). */
  readonly xdsAddress: string;
  /** The port the gRPC server bound (useful with port 0). */
  readonly xdsPort: number;
  /** `http://host:port` of the admin server. */
  readonly adminUrl: string;
  /** Resolves once the first complete state from Consul is served. */
  readonly ready: Promise<void>;
  isReady(): boolean;
  readonly snapshots: SnapshotSource;
  readonly meshState: MeshStateStore;
  readonly metrics: RelayMetrics;
  readonly ads: AdsService;
  /** Graceful shutdown (see the module comment); safe to call twice. */
  close(): Promise<void>;
}

export async function startRelay(config: RelayConfig, deps: RelayDependencies = {}): Promise<Relay> {
  const log = deps.log ?? pino({ level: config.logLevel, name: 'vmss-mesh-relay' }, pino.destination(2));
  const metrics = new RelayMetrics({ processMetrics: deps.processMetrics });
  let closing = false;
  let firstPublishError: string | undefined;

  const snapshots = new SnapshotStore({
    gatewayListenerPort: config.gateway.port,
    onlyPassing: config.onlyPassing,
    onListenerError: (error) => log.error({ err: error }, 'snapshot listener failed'),
  });
  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));

  const publish = (state: MeshState): void => {
    const result = snapshots.publish(state);
    for (const note of result.notes) log.warn(note);
    log.debug({ versions: result.versions, rebuilt: result.rebuiltServices }, 'published snapshots');
    if (!snapshots.ready()) {
      snapshots.markReady();
      metrics.ready.set(1);
      resolveReady();
      log.info({ services: state.services.size }, 'ready: serving the mesh loaded from Consul');
    }
  };
  const meshState = new MeshStateStore({
    gatewayRoutes: config.gateway.routes,
    coalesceMs: config.coalesceMs,
    push: config.pushOverlay,
    onOverlayEnded: overlayEndObserver(metrics, log),
    publish: (state, info) => {
      metrics.recordPublish(info, state);
      publish(state);
    },
    onPublishError: (error) => {
      // Clients keep the last good snapshot; the next change tries again from the full state.
      if (!snapshots.ready()) firstPublishError = errorMessage(error);
      log.error({ err: error }, 'could not build snapshots from the mesh state');
    },
  });

  const limits = config.limits;
  const adsHooks = combineHooks(metricsHooks(metrics), adsLogHooks(log));
  const connections = new ConnectionLimiter({ maxConnectionsPerPeer: limits.maxConnectionsPerPeer, onLimitExceeded: adsHooks.onLimitExceeded });
  const ads = createAdsService(snapshots, {
    hooks: adsHooks,
    minSendIntervalMs: config.minSendIntervalMs,
    maxNodeBytes: limits.maxNodeBytes,
    maxSubscriptionBytes: limits.maxSubscriptionBytes,
    maxStreams: limits.maxStreams,
  });
  const server = new grpc.Server({ ...grpcServerOptions(limits), interceptors: [connectionLimitInterceptor(connections)] });
  server.addService(ads.definition, ads.implementation);
  if (config.push.enabled) {
    const push = createPushService({ store: meshState, token: config.push.token, hooks: combinePushHooks(metrics.pushHooks(), pushLogHooks(log)) });
    server.addService(push.definition, push.implementation);
  }
  const listener = await listenLimited(server, connections, config.listen.host, config.listen.port);
  const xdsPort = listener.port;

  const watch = new ConsulWatch({
    source: deps.watchSource ?? consulWatchSource(config.consul),
    store: meshState,
    waitSeconds: config.watch.waitSeconds,
    minIntervalMs: config.watch.minIntervalMs,
    maxBackoffMs: config.watch.maxBackoffMs,
    observer: combineObservers(metrics.watchObserver(), watchLogObserver(log)),
  });

  const readiness = (): Readiness => {
    if (closing) return { ready: false, reason: 'shutting down' };
    if (snapshots.ready()) return { ready: true };
    if (firstPublishError) return { ready: false, reason: `the state loaded from Consul could not be served: ${firstPublishError}` };
    return { ready: false, reason: watch.state === 'loading' ? 'loading the mesh from Consul' : `Consul watch ${watch.state}` };
  };
  let admin: AdminServer;
  try {
    admin = await startAdminServer({
      host: config.admin.host,
      port: config.admin.port,
      metrics,
      readiness,
      configDump: () => configDump(snapshots),
      clients: () => ads.clients(),
      onError: (error, path) => log.error({ err: error, path }, 'admin endpoint failed'),
    });
  } catch (error) {
    // The listener's close waits for the connections it accepted: grpc-js ends them first, then
    // what a client keeps open (it does not read the end) is destroyed.
    const stopListening = listener.close();
    server.forceShutdown();
    listener.destroyConnections();
    await stopListening;
    throw error;
  }
  watch.start();
  const xdsAddress = formatHostPort(isWildcard(config.listen.host) ? '127.0.0.1' : config.listen.host, xdsPort);
  log.info({ xds: xdsAddress, admin: admin.url, push: config.push.enabled }, 'relay listening');

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      metrics.ready.set(0);
      log.info('shutting down: refusing new streams, ending open ones (clients keep their configuration)');
      ads.closeAllStreams();
      const stopListening = listener.close();
      await shutdownGrpcServer(server, config.shutdownGraceMs);
      listener.destroyConnections();
      await stopListening;
      await watch.close();
      meshState.close();
      await admin.close();
      log.info('relay stopped');
    })();
    return closed;
  };

  return { xdsAddress, xdsPort, adminUrl: admin.url, ready, isReady: () => snapshots.ready() && !closing, snapshots, meshState, metrics, ads, close };
}

/** grpc-js's own limits (the others are enforced by the ADS service and the connection limiter); the fan-out bench serves with them too. */
export function grpcServerOptions(limits: RelayLimits): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': limits.maxReceiveMessageBytes,
    'grpc.max_concurrent_streams': limits.maxStreamsPerConnection,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': limits.maxConnectionIdleMs,
  };
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}
