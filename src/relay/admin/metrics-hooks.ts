/**
 * The ADS servers' hooks (ads-hooks.ts) feeding the relay's metrics: open streams by profile,
 * responses (versions) sent, ACK latency, NACKs. Cheap and never throwing, as the hooks contract
 * asks: each call is a few label lookups.
 */
import type { AdsHooks } from '../ads/ads-hooks';
import type { RelayMetrics } from './metrics';

export function metricsHooks(metrics: RelayMetrics): AdsHooks {
  return {
    onStreamOpen(stream) {
      metrics.streams.inc({ profile: stream.profile, mode: stream.mode });
      metrics.streamsOpened.inc({ profile: stream.profile, mode: stream.mode });
    },
    onRequest(stream, kind, outcome, ackLatencyMs) {
      metrics.requests.inc({ type: kind, outcome });
      if (outcome === 'nack') metrics.nacks.inc({ type: kind, profile: stream.profile });
      if (outcome === 'ack' && ackLatencyMs !== undefined) metrics.ackLatency.observe({ type: kind }, ackLatencyMs / 1000);
    },
    onResponse(stream, kind, _version, resourceCount, bytes) {
      metrics.responses.inc({ type: kind, profile: stream.profile });
      metrics.responseResources.inc({ type: kind }, resourceCount);
      metrics.responseBytes.inc({ type: kind }, bytes);
    },
    onStreamClosed(stream) {
      metrics.streams.dec({ profile: stream.profile, mode: stream.mode });
    },
    onLimitExceeded(limit) {
      metrics.limitHits.inc({ limit });
    },
  };
}
