/**
 * Metric and log of push overlays that stopped being served (inputs/push-overlays.ts): the relay's
 * `push_overlays_ended_total{reason}` counter (metrics.ts), and a log line whose level says
 * whether Consul agreed with the push (debug) or not (warn).
 */
import type { Logger } from 'pino';
import type { OverlayEnd } from '../inputs/push-overlays';
import type { RelayMetrics } from './metrics';

const LEVEL: Record<OverlayEnd, 'debug' | 'info' | 'warn'> = {
  confirmed: 'debug',
  unlisted: 'info',
  reset: 'info',
  expired: 'warn',
  contradicted: 'warn',
  'beyond-consul': 'warn',
};

const MESSAGE: Record<OverlayEnd, string> = {
  confirmed: "Consul confirmed a pushed endpoint set; serving Consul's answer",
  unlisted: "Consul's service list does not have a pushed service; dropped it",
  reset: "Consul's index went backwards; dropped a push indexed in its old history",
  expired: "a pushed endpoint set was not confirmed by Consul in time; serving Consul's data again",
  contradicted: "Consul got past a push's index but shows an older state for the service: the push claimed a state Consul never had; serving Consul's data",
  'beyond-consul': "a push held before the first Consul load claims an index far beyond Consul's; dropped it",
};

export function overlayEndObserver(metrics: Pick<RelayMetrics, 'overlaysEnded'>, log: Logger): (service: string, reason: OverlayEnd, pushedIndex: number) => void {
  return (service, reason, pushedIndex) => {
    metrics.overlaysEnded.inc({ reason });
    log[LEVEL[reason]]({ service, pushedIndex, reason }, MESSAGE[reason]);
  };
}
