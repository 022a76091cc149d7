/**
 * envoy.service.discovery.v3.AggregatedDiscoveryService over @grpc/grpc-js: StreamAggregatedResources
 * (SotW, all @grpc/grpc-js-xds speaks) and DeltaAggregatedResources (Delta, what Envoy prefers),
 * on top of a SnapshotSource. Add `definition`/`implementation` to a grpc.Server (the same server
 * can host the push API).
 *
 * Requests are decoded with Envoy's protos; responses are written from the shared, pre-encoded
 * resource bytes (see ads-responses.ts), so no resource is ever encoded per stream.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_LIMITS, LIMIT_SETTING } from '../limits/limit-settings';
import type { SnapshotSource } from '../snapshot/snapshot-types';
import type { ClientProfile } from '../xds/client-profile';
import { safely, type AdsHooks, type ClientStatus } from './ads-hooks';
import { decodeDeltaRequest, decodeSotwRequest } from './ads-requests';
import type { OutgoingResponse } from './ads-responses';
import { AdsStream, type AdsCall, type IncomingRequest, type StreamEnvironment } from './ads-stream';

export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

export interface AdsServiceOptions {
  /** Metrics, admin and logging hang here (see ads-hooks.ts). */
  readonly hooks?: AdsHooks;
  /**
   * Minimum time between two snapshot versions sent to one stream. Versions published sooner are
   * coalesced: the stream later jumps to the newest. Default 50 ms; 0 = no limit. Requests
   * (new subscriptions, ACKs) are always answered at once from the version the stream holds.
   */
  readonly minSendIntervalMs?: number;
  /** Streams brought up to date per event-loop turn after a snapshot change. Default 256. */
  readonly updateBatchSize?: number;
  /** While the source is not ready and clients wait, how often to look again. Default 100 ms. */
  readonly readyPollIntervalMs?: number;
  /** Clock in milliseconds (tests). Default `performance.now`. */
  readonly now?: () => number;
  /** Most bytes a stream keeps of its node (see limit-settings.ts for these three). Default 16 KiB. */
  readonly maxNodeBytes?: number;
  /** Most bytes of names a stream's client may make it hold. Default 1 MiB. */
  readonly maxSubscriptionBytes?: number;
  /** Most ADS streams open at once; more are refused with RESOURCE_EXHAUSTED. Default 10,000. */
  readonly maxStreams?: number;
}

interface ResolvedOptions {
  readonly hooks: AdsHooks | undefined;
  readonly minSendIntervalMs: number;
  readonly updateBatchSize: number;
  readonly readyPollIntervalMs: number;
  readonly now: () => number;
  readonly limits: StreamEnvironment['limits'];
  readonly maxStreams: number;
}

export interface AdsService {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
  /** One entry per identified stream (after its first request). */
  clients(): ClientStatus[];
  /** Number of open streams, identified or not. */
  streamCount(): number;
  /**
   * Graceful shutdown: refuses new streams and ends the open ones with UNAVAILABLE. Clients keep
   * the configuration they have and reconnect (to this relay when it is back, or another one).
   */
  closeAllStreams(): void;
}

function resolveOptions(options: AdsServiceOptions): ResolvedOptions {
  const count = (name: string, value: number | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value < min) throw new TypeError(`${name} must be a finite number ≥ ${min}, got ${value}`);
    return value;
  };
  return {
    hooks: options.hooks,
    minSendIntervalMs: count('minSendIntervalMs', options.minSendIntervalMs, 50, 0),
    updateBatchSize: Math.floor(count('updateBatchSize', options.updateBatchSize, 256, 1)),
    readyPollIntervalMs: count('readyPollIntervalMs', options.readyPollIntervalMs, 100, 1),
    now: options.now ?? (() => performance.now()),
    limits: {
      maxNodeBytes: Math.floor(count('maxNodeBytes', options.maxNodeBytes, DEFAULT_LIMITS.maxNodeBytes, 1)),
      maxSubscriptionBytes: Math.floor(count('maxSubscriptionBytes', options.maxSubscriptionBytes, DEFAULT_LIMITS.maxSubscriptionBytes, 1)),
    },
    maxStreams: Math.floor(count('maxStreams', options.maxStreams, DEFAULT_LIMITS.maxStreams, 1)),
  };
}

function method(name: string, deserialize: (buffer: Buffer) => IncomingRequest): grpc.MethodDefinition<IncomingRequest, OutgoingResponse> {
  const serverOnly = (): never => {
    throw new Error(`${ADS_SERVICE_NAME}/${name}: this definition is for servers; build clients on envoy-protos`);
  };
  return {
    path: `/${ADS_SERVICE_NAME}/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: serverOnly,
    requestDeserialize: deserialize,
    responseSerialize: (outgoing: OutgoingResponse) => outgoing.encoded,
    responseDeserialize: serverOnly,
    originalName: name.charAt(0).toLowerCase() + name.slice(1),
  };
}

export function createAdsService(source: SnapshotSource, options: AdsServiceOptions = {}): AdsService {
  const resolved = resolveOptions(options);
  const streams = new Set<AdsStream>();
  const identified = new Set<AdsStream>();
  const pending = new Set<AdsStream>();
  let nextStreamId = 0;
  let closing = false;
  let drainScheduled = false;
  let readyPoll: NodeJS.Timeout | undefined;

  /** Updates streams in batches, yielding between them, so a change cannot starve the process. */
  const drain = (): void => {
    drainScheduled = false;
    let budget = resolved.updateBatchSize;
    for (const stream of pending) {
      if (budget-- <= 0) break;
      pending.delete(stream);
      stream.pump();
    }
    if (pending.size > 0) scheduleDrain();
  };
  const scheduleDrain = (): void => {
    if (drainScheduled) return;
    drainScheduled = true;
    setImmediate(drain);
  };
  const update = (stream: AdsStream): void => {
    pending.add(stream);
    scheduleDrain();
  };

  const stopReadyPoll = (): void => {
    if (readyPoll) clearInterval(readyPoll);
    readyPoll = undefined;
  };
  // A source that turns ready without announcing a change must not leave clients waiting.
  const startReadyPoll = (): void => {
    if (readyPoll || closing) return;
    readyPoll = setInterval(() => {
      if (!source.ready()) return;
      stopReadyPoll();
      for (const stream of identified) update(stream);
    }, resolved.readyPollIntervalMs);
    readyPoll.unref();
  };

  const unsubscribe = source.onChange((profiles: ReadonlySet<ClientProfile>) => {
    for (const stream of identified) {
      if (stream.profile && profiles.has(stream.profile)) update(stream);
    }
  });

  const nonceRandom = randomBytes(4).toString('hex');
  const env: StreamEnvironment = {
    source,
    hooks: resolved.hooks,
    minSendIntervalMs: resolved.minSendIntervalMs,
    // Unique per process, so a nonce from an earlier relay never matches (each nonce is random too).
    noncePrefix: `${nonceRandom}.`,
    limits: resolved.limits,
    now: resolved.now,
    opened: (stream) => {
      identified.add(stream);
      if (!source.ready()) startReadyPoll();
    },
    closed: (stream) => {
      streams.delete(stream);
      identified.delete(stream);
      pending.delete(stream);
    },
  };

  const handler =
    (mode: 'sotw' | 'delta') =>
    (call: AdsCall): void => {
      if (closing) {
        call.emit('error', Object.assign(new Error('the relay is shutting down'), { code: grpc.status.UNAVAILABLE, details: 'the relay is shutting down' }));
        return;
      }
      if (streams.size >= resolved.maxStreams) {
        const details = `the relay serves at most ${resolved.maxStreams} ADS streams at once (${LIMIT_SETTING.maxStreams})`;
        call.emit('error', Object.assign(new Error(details), { code: grpc.status.RESOURCE_EXHAUSTED, details }));
        const hooks = resolved.hooks;
        if (hooks?.onLimitExceeded) safely(() => hooks.onLimitExceeded!('max_streams', call.getPeer(), details));
        return;
      }
      const stream = new AdsStream(++nextStreamId, mode, call, env);
      streams.add(stream);
    };

  return {
    definition: {
      StreamAggregatedResources: method('StreamAggregatedResources', decodeSotwRequest),
      DeltaAggregatedResources: method('DeltaAggregatedResources', decodeDeltaRequest),
    },
    implementation: {
      StreamAggregatedResources: handler('sotw'),
      DeltaAggregatedResources: handler('delta'),
    },
    clients: () => {
      const out: ClientStatus[] = [];
      for (const stream of identified) {
        const status = stream.status();
        if (status) out.push(status);
      }
      return out.sort((a, b) => a.streamId - b.streamId);
    },
    streamCount: () => streams.size,
    closeAllStreams: () => {
      closing = true;
      unsubscribe();
      stopReadyPoll();
      for (const stream of [...streams]) {
        stream.end('relay shutting down', { code: grpc.status.UNAVAILABLE, details: 'the relay is shutting down' });
      }
    },
  };
}
