/**
 * Steady traffic through the mesh from a real proxyless gRPC client (@grpc/grpc-js-xds): calls
 * grpc.health.v1.Health/Check on `xds:///<service>` back to back and records who answered (the
 * `x-vmss-instance` response metadata) and every failure. The data plane under test is the real
 * xDS client, fed by the relay.
 */
import * as grpc from '@grpc/grpc-js';
import { healthClientConstructor, INSTANCE_METADATA_KEY } from '../backends/demo-backend';
import { loadGrpcJsXds } from './grpc-js-xds-workarounds';

let registered = false;
/** Registers the `xds:` scheme with @grpc/grpc-js (once per process), with the library's known bugs worked around. */
export function registerXdsResolver(): void {
  if (!registered) {
    loadGrpcJsXds(() => (require('@grpc/grpc-js-xds') as { register: () => void }).register());
    registered = true;
  }
}

export interface GrpcBootstrapInput {
  readonly serverUri: string;
  readonly nodeId: string;
  readonly zone?: string;
}

/** A GRPC_XDS_BOOTSTRAP document for a proxyless client of the relay. */
export function grpcBootstrap(input: GrpcBootstrapInput): Record<string, unknown> {
  return {
    xds_servers: [{ server_uri: input.serverUri, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: {
      id: input.nodeId,
      cluster: 'vmss-mesh-clients',
      locality: { zone: input.zone ?? '1' },
      metadata: { vmss_mesh_profile: 'proxyless-grpc' },
    },
  };
}

export interface CallRecord {
  readonly at: number;
  readonly instance?: string;
  readonly error?: string;
}

export interface TrafficOptions {
  /** Mesh service name: calls go to `xds:///<service>`. */
  readonly service: string;
  /** Bootstrap for this channel only; absent = GRPC_XDS_BOOTSTRAP(_CONFIG) from the environment. */
  readonly bootstrap?: Record<string, unknown>;
  /** Calls in flight at once (default 2). */
  readonly concurrency?: number;
  /** Pause between a worker's calls (default 2 ms). */
  readonly pauseMs?: number;
  /**
   * Deadline of one counted call (default 10 s: a call that stalls that long on a loaded machine
   * has not failed because of the mesh; a dead endpoint fails at once with UNAVAILABLE anyway).
   * Warm-up calls use at most 2 s, so warm-up retries quickly while the service does not exist yet.
   */
  readonly deadlineMs?: number;
  /** Records kept (default 20 000, oldest dropped). */
  readonly keep?: number;
}

type CheckCall = (request: { service: string }, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall;

export class XdsTraffic {
  private readonly client: grpc.Client;
  private readonly records: CallRecord[] = [];
  private running = false;
  private closed = false;
  private workers: Promise<void>[] = [];
  private readonly listeners = new Set<() => void>();
  private totalCalls = 0;
  private totalFailed = 0;

  constructor(private readonly options: TrafficOptions) {
    registerXdsResolver();
    const Health = healthClientConstructor();
    const channelOptions: grpc.ChannelOptions = options.bootstrap ? { 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(options.bootstrap) } : {};
    this.client = new Health(`xds:///${options.service}`, grpc.credentials.createInsecure(), channelOptions);
  }

  /** One call, recorded (unless `record` is false). */
  call(record = true): Promise<CallRecord> {
    return new Promise((resolve) => {
      let instance: string | undefined;
      const check = (this.client as unknown as { Check: CheckCall }).Check.bind(this.client);
      const deadlineMs = this.options.deadlineMs ?? 10_000;
      const call = check({ service: '' }, new grpc.Metadata(), { deadline: Date.now() + (record ? deadlineMs : Math.min(deadlineMs, 2_000)) }, (error) => {
        const result: CallRecord = error ? { at: Date.now(), error: `${grpc.status[error.code] ?? error.code}: ${error.details}` } : { at: Date.now(), instance };
        if (record) this.push(result);
        resolve(result);
      });
      call.on('metadata', (md) => {
        const value = md.get(INSTANCE_METADATA_KEY)[0];
        instance = typeof value === 'string' ? value : value?.toString('utf8');
      });
    });
  }

  /** Waits until the channel has resolved and a call succeeds (the first xDS round trips). */
  async warmUp(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.closed) throw new Error(`xDS client for ${this.options.service} closed during warm-up`);
      // Warm-up calls are not recorded: failing before the service exists is expected.
      const record = await this.call(false);
      if (!record.error) return;
      if (Date.now() > deadline) throw new Error(`xDS client for ${this.options.service} never got a working config: ${record.error}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const pause = this.options.pauseMs ?? 2;
    this.workers = Array.from({ length: this.options.concurrency ?? 2 }, async () => {
      while (this.running) {
        await this.call();
        if (pause > 0) await new Promise((r) => setTimeout(r, pause));
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  close(): void {
    this.closed = true;
    this.running = false;
    this.client.close();
  }

  /** Calls and failures since start (or since warm-up). */
  totals(): { readonly calls: number; readonly failed: number } {
    return { calls: this.totalCalls, failed: this.totalFailed };
  }

  /** Records from `since` (ms timestamp) on. */
  recordsSince(since: number): CallRecord[] {
    return this.records.filter((r) => r.at >= since);
  }

  /** Calls per instance (and failures) in the records from `since` on. */
  shares(since: number): { readonly perInstance: ReadonlyMap<string, number>; readonly calls: number; readonly failed: number; readonly errors: readonly string[] } {
    const perInstance = new Map<string, number>();
    let calls = 0;
    const errors: string[] = [];
    for (const r of this.recordsSince(since)) {
      calls += 1;
      if (r.error) errors.push(r.error);
      else if (r.instance) perInstance.set(r.instance, (perInstance.get(r.instance) ?? 0) + 1);
    }
    return { perInstance, calls, failed: errors.length, errors };
  }

  /** Resolves when `predicate` holds for the recorded calls (checked after each call). */
  waitFor(predicate: (records: readonly CallRecord[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this.records)) {
          clearTimeout(timer);
          this.listeners.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`traffic: ${what} did not happen within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  private push(record: CallRecord): void {
    this.totalCalls += 1;
    if (record.error) this.totalFailed += 1;
    this.records.push(record);
    if (this.records.length > (this.options.keep ?? 20_000)) this.records.splice(0, this.records.length - (this.options.keep ?? 20_000));
    for (const listener of [...this.listeners]) listener();
  }
}
