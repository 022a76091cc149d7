/**
 * Proxyless traffic for the chaos soak: the real @grpc/grpc-js-xds client calls each mesh service
 * back to back, as the sandbox's own traffic does, but records the peer each call went to
 * (`getPeer()`), so a failure can be judged precisely: a call to an instance ARM lists as running
 * and healthy, a call to one that is draining, failed or gone, or a call with no endpoint at all.
 */
import * as grpc from '@grpc/grpc-js';
import { healthClientConstructor } from '../backends/demo-backend';
import { grpcBootstrap, registerXdsResolver } from '../traffic/xds-traffic';

export interface ProbeCall {
  readonly service: string;
  readonly startedAt: number;
  readonly endedAt: number;
  /** IP the call went to; undefined when it never reached a subchannel. */
  readonly peer?: string;
  readonly error?: string;
}

type CheckCall = (request: { service: string }, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall;

export class TrafficProbe {
  private readonly clients = new Map<string, grpc.Client>();
  private running = false;
  private workers: Promise<void>[] = [];
  calls = 0;
  /** Failed calls (each is handed to `onCall`; none is kept). */
  failed = 0;

  constructor(
    relayAddress: string,
    services: readonly string[],
    private readonly options: { readonly pauseMs: number; readonly deadlineMs: number; readonly onCall?: (call: ProbeCall) => void },
  ) {
    registerXdsResolver();
    const Health = healthClientConstructor();
    for (const service of services) {
      const bootstrap = grpcBootstrap({ serverUri: relayAddress, nodeId: `chaos-probe-${service}` });
      this.clients.set(service, new Health(`xds:///${service}`, grpc.credentials.createInsecure(), { 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap) }));
    }
  }

  call(service: string, deadlineMs = this.options.deadlineMs): Promise<ProbeCall> {
    const client = this.clients.get(service);
    if (!client) throw new TypeError(`no probe client for ${service}`);
    const startedAt = Date.now();
    return new Promise((resolve) => {
      const check = (client as unknown as { Check: CheckCall }).Check.bind(client);
      const call = check({ service: '' }, new grpc.Metadata(), { deadline: startedAt + deadlineMs }, (error) => {
        const peer = peerIp(call.getPeer());
        resolve({ service, startedAt, endedAt: Date.now(), ...(peer ? { peer } : {}), ...(error ? { error: `${grpc.status[error.code] ?? error.code}: ${error.details}` } : {}) });
      });
    });
  }

  /** Waits until every service answers once (the first xDS round trips). */
  async warmUp(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const service of this.clients.keys()) {
      for (;;) {
        const result = await this.call(service, 2_000);
        if (!result.error) break;
        if (Date.now() > deadline) throw new Error(`chaos probe: ${service} never answered: ${result.error}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  start(): void {
    this.running = true;
    this.workers = [...this.clients.keys()].map(async (service) => {
      while (this.running) {
        const result = await this.call(service);
        this.calls += 1;
        if (result.error) this.failed += 1;
        this.options.onCall?.(result);
        await new Promise((r) => setTimeout(r, this.options.pauseMs));
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  close(): void {
    this.running = false;
    for (const client of this.clients.values()) client.close();
  }
}

/** `127.1.0.5:9090` → `127.1.0.5`; `unknown` and the like → undefined. */
export function peerIp(peer: string): string | undefined {
  const match = /^(?:ipv4:)?(\d+\.\d+\.\d+\.\d+):\d+$/.exec(peer);
  return match?.[1];
}
