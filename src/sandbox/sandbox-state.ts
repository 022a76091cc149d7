/**
 * The whole local world's state as the sandbox shows it: the terminal view, the status page and
 * `vmss-mesh sandbox status --json` all render this one shape (and nothing else).
 */

export type ConsulCheckState = 'passing' | 'warning' | 'critical' | 'draining' | 'absent';

export interface SandboxInstance {
  readonly name: string;
  readonly instanceId: string;
  readonly privateIp: string;
  readonly zone: string;
  /** ARM's view. */
  readonly provisioningState: string;
  readonly powerState: string;
  readonly health: string | null;
  /** Consul's view ('absent' = not registered). */
  readonly consul: ConsulCheckState;
  /** Share (0–1) of the steady traffic this instance served in the last window. */
  readonly trafficShare: number;
  /** Requests it served in the last window. */
  readonly served: number;
}

export interface SandboxScaleSet {
  readonly id: string;
  readonly name: string;
  readonly orchestrationMode: 'Uniform' | 'Flexible';
  readonly capacity: number;
  readonly service: string;
  readonly port: number;
  readonly protocol: string;
  readonly instances: readonly SandboxInstance[];
}

export interface SandboxRelayClient {
  readonly nodeId: string;
  readonly profile: string;
  readonly lastSentVersion: Readonly<Record<string, string>>;
  readonly lastAckedVersion: Readonly<Record<string, string>>;
  readonly lastNack?: string;
}

export type TimelineKind = 'arm-operation' | 'event-delivered' | 'reconcile' | 'push' | 'client-ack' | 'sandbox';

export interface TimelineEntry {
  /** ISO time. */
  readonly at: string;
  readonly kind: TimelineKind;
  readonly summary: string;
}

export interface SandboxState {
  readonly generatedAt: string;
  readonly endpoints: {
    readonly armEmulator: string;
    readonly consul: string;
    /** 'agent' = a real `consul agent -dev`; 'double' = the project's Consul API double. */
    readonly consulKind: 'agent' | 'double';
    readonly functionsHost: string;
    readonly relayXds: string;
    readonly relayAdmin: string;
    readonly statusPage: string;
  };
  readonly scaleSets: readonly SandboxScaleSet[];
  readonly relayClients: readonly SandboxRelayClient[];
  readonly traffic: {
    readonly windowSeconds: number;
    readonly requests: number;
    readonly failed: number;
    /** Failed requests since the sandbox started. */
    readonly failedTotal: number;
  };
  readonly eventChaos: boolean;
  /** Newest last; bounded (the last 200 entries). */
  readonly timeline: readonly TimelineEntry[];
}

/** What the page's buttons and the `vmss-mesh sandbox …` commands can ask the running sandbox. */
export type SandboxAction =
  | { readonly action: 'scale'; readonly scaleSet: string; readonly capacity: number }
  | { readonly action: 'fail'; readonly instance: string }
  | { readonly action: 'heal'; readonly instance: string }
  | { readonly action: 'event-chaos'; readonly enabled: boolean };
