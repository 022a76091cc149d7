/**
 * The sandbox's xDS relay: reads the sandbox's Consul, takes pushes with the sandbox's token, and
 * can be restarted on the same address (clients keep their config meanwhile).
 */
import pino from 'pino';
import { startRelay, type Relay } from '../relay/relay';
import { loadRelayConfig } from '../relay/relay-config';

/** The push token of the sandbox's relay (the chaos soak pushes as the Functions app would). */
export const SANDBOX_RELAY_TOKEN = 'sandbox-push-token';

interface RelaySettings {
  readonly consulUrl: string;
  readonly adminPort: number;
}

const silent = pino({ level: 'silent' });

export class SandboxRelay {
  /** The xDS address (host:port) the relay listens on, kept across restarts. */
  readonly xdsAddress: string;

  private constructor(
    private relay: Relay,
    private readonly settings: RelaySettings,
  ) {
    this.xdsAddress = relay.xdsAddress;
  }

  /** Starts the relay on 127.0.0.1:xdsPort (0: any free port); `current().ready` says when it has read Consul. */
  static async start(consulUrl: string, xdsPort: number, adminPort: number): Promise<SandboxRelay> {
    const settings = { consulUrl, adminPort };
    return new SandboxRelay(await startOn(`127.0.0.1:${xdsPort}`, settings), settings);
  }

  /** The relay running now (a restart replaces it). */
  current(): Relay {
    return this.relay;
  }

  /** Stops the relay and starts it again on the same xDS address. */
  async restart(): Promise<void> {
    await this.relay.close();
    this.relay = await startOn(this.xdsAddress, this.settings);
    await this.relay.ready;
  }

  close(): Promise<void> {
    return this.relay.close();
  }
}

function startOn(listen: string, settings: RelaySettings): Promise<Relay> {
  const config = loadRelayConfig({
    VMSS_MESH_RELAY_LISTEN: listen,
    VMSS_MESH_RELAY_ADMIN_LISTEN: `127.0.0.1:${settings.adminPort}`,
    VMSS_MESH_RELAY_TOKEN: SANDBOX_RELAY_TOKEN,
    CONSUL_HTTP_ADDR: settings.consulUrl,
    VMSS_MESH_RELAY_WATCH_MIN_INTERVAL_MS: '50',
  });
  return startRelay(config, { log: silent, processMetrics: false });
}
