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
  /** The running or last rollout (`vmss-mesh sandbox rollout`), absent when there was none. */
  readonly rollout?: SandboxRollout;
}

export type RolloutPhase = 'creating' | 'shifting' | 'retiring' | 'done' | 'failed';

/** A blue/green rollout between two scale sets of one service, as it goes. */
export interface SandboxRollout {
  /** 1, 2, …: which rollout of this sandbox (a CLI follows the one it started). */
  readonly id: number;
  readonly service: string;
  readonly from: string;
  readonly to: string;
  readonly image: string;
  /** The new scale set's share after each step, in percent (ends at 100). */
  readonly steps: readonly number[];
  readonly phase: RolloutPhase;
  /** Progress, one line per thing done, oldest first. */
  readonly lines: readonly string[];
  readonly error?: string;
}

/** What the page's buttons and the `vmss-mesh sandbox …` commands can ask the running sandbox. */
export type SandboxAction =
  | { readonly action: 'scale'; readonly scaleSet: string; readonly capacity: number }
  | { readonly action: 'fail'; readonly instance: string }
  | { readonly action: 'heal'; readonly instance: string }
  | { readonly action: 'event-chaos'; readonly enabled: boolean }
  /** The instance fails every other gRPC call with UNAVAILABLE until `heal`. */
  | { readonly action: 'fail-half'; readonly instance: string }
  /** Blue/green: a second scale set for `service` (a service or scale set name), weight shifted in `steps`, the old one retired. */
  | { readonly action: 'rollout'; readonly service: string; readonly to: string; readonly steps: readonly number[]; readonly holdCalls?: number };
