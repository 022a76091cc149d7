/** A relay on loopback that reads its endpoints from Consul's watch only (push disabled), quick to follow changes, logging nothing. */
import pino from 'pino';
import { startRelay } from '../../src/relay/relay';
import { loadRelayConfig } from '../../src/relay/relay-config';

/** Starts it against the Consul at `consulUrl` (20 ms between watch reads, 20 ms coalescing); the caller closes it and awaits `ready`. */
export function startWatchingRelay(consulUrl: string): ReturnType<typeof startRelay> {
  return startRelay(
    loadRelayConfig({
      VMSS_MESH_RELAY_LISTEN: '127.0.0.1:0',
      VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:0',
      VMSS_MESH_RELAY_PUSH_DISABLED: 'true',
      CONSUL_HTTP_ADDR: consulUrl,
      VMSS_MESH_RELAY_WATCH_MIN_INTERVAL_MS: '20',
      VMSS_MESH_RELAY_COALESCE_MS: '20',
    }),
    { log: pino({ level: 'silent' }), processMetrics: false },
  );
}
