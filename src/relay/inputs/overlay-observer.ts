/**
 * Metric and log of push overlays that stopped being served (push-overlays.ts): the counter
 * `vmss_mesh_relay_push_overlays_ended_total{reason}` on the relay's registry, and a log line whose
 * level says whether Consul agreed with the push (debug) or not (warn).
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { OverlayEnd } from './push-overlays';

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

export function overlayEndObserver(registry: Registry, log: Logger): (service: string, reason: OverlayEnd, pushedIndex: number) => void {
  const ended = new Counter({
    name: 'vmss_mesh_relay_push_overlays_ended_total',
    help: 'Pushed endpoint sets that stopped being served, by reason (confirmed, contradicted, unlisted, expired, reset, beyond-consul).',
    labelNames: ['reason'],
    registers: [registry],
  });
  return (service, reason, pushedIndex) => {
    ended.inc({ reason });
    log[LEVEL[reason]]({ service, pushedIndex, reason }, MESSAGE[reason]);
  };
}
