/**
 * What the relay logs, as adapters on the same seams the metrics use: ADS hooks, push hooks and
 * the watch observer. Per-stream and per-push lines are debug (a thousand clients would drown
 * everything else); NACKs, refused pushes, Consul errors and index resets are warnings.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../../shared/errors';
import type { AdsHooks } from '../ads/ads-hooks';
import type { WatchObserver } from '../inputs/consul-watch';
import type { PushServerHooks } from '../push/push-server';

export function adsLogHooks(log: Logger): AdsHooks {
  return {
    onStreamOpen: (s) => log.debug({ stream: s.streamId, node: s.nodeId, cluster: s.nodeCluster, profile: s.profile, mode: s.mode, peer: s.peer }, 'xDS stream opened'),
    onRequest: (s, kind, outcome, _latency, error) => {
      if (outcome === 'nack') log.warn({ stream: s.streamId, node: s.nodeId, profile: s.profile, type: kind, error }, 'xDS client rejected a response (NACK)');
    },
    onStreamClosed: (s, reason) => log.debug({ stream: s.streamId, node: s.nodeId, reason }, 'xDS stream closed'),
    onLimitExceeded: (limit, peer, detail) => log.warn({ limit, peer, detail }, 'refused or ended a client over a limit'),
  };
}

export function pushLogHooks(log: Logger): PushServerHooks {
  return {
    onPush: (source, results) =>
      log.debug({ source, results: results.map((r) => `${r.service}=${r.outcome}@${r.currentIndex}`) }, 'push received'),
    onRejected: (reason, detail, peer) => log.warn({ reason, peer }, `push refused: ${detail}`),
  };
}

export function watchLogObserver(log: Logger): WatchObserver {
  return {
    onState: (state) => log.info({ state }, `Consul watch ${state}`),
    onLoaded: (services, index) => log.info({ services, index }, 'loaded the mesh from Consul'),
    onIndexReset: (what, held, received) => log.warn({ query: what, held, received }, "Consul's index went backwards; reading again from 0"),
    onError: (what, error, retryInMs) => log.warn({ query: what, retryInMs }, `Consul read failed: ${errorMessage(error)}`),
  };
}
