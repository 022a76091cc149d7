/**
 * The sandbox's state, rebuilt on a short cadence from Consul, the traffic clients, the relay's
 * xDS clients and ARM; listeners are told only when it changed, and waiters get the first state
 * whose build started after they asked. Each new ACK of a client goes to the timeline.
 */
import type { Relay } from '../relay/relay';
import { errorMessage } from '../shared/errors';
import type { OwnedNode } from '../shared/model';
import { assembleSandboxState, type StateInputs } from './sandbox-state-builder';
import type { SandboxState } from './sandbox-state';
import type { Timeline } from './timeline';
import type { XdsTraffic } from './traffic/xds-traffic';

export interface StateRefresherOptions {
  readonly listOwned: () => Promise<readonly OwnedNode[]>;
  readonly traffic: ReadonlyMap<string, XdsTraffic>;
  readonly relay: () => Relay;
  readonly timeline: Timeline;
  /** The traffic window of the state's counts. */
  readonly windowMs: number;
  /** When the traffic started: the window never reaches back before it. */
  readonly started: number;
  readonly log: (line: string) => void;
  /** The rest of the state's inputs, read at each build. */
  readonly view: () => Pick<StateInputs, 'endpoints' | 'rollout' | 'scaleSets' | 'eventChaos'>;
}

export class StateRefresher {
  private readonly listeners = new Set<() => void>();
  private readonly waiters: Array<{ readonly after: number; readonly resolve: (s: SandboxState) => void }> = [];
  private buildsStarted = 0;
  private acked = new Map<string, string>();
  private latest: SandboxState | undefined;
  private latestKey = '';
  private lastOwned: readonly OwnedNode[] = [];
  private refreshing = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: StateRefresherOptions) {}

  /** The last state built (start() has built one). */
  current(): SandboxState {
    return this.latest!;
  }

  /** Our Consul nodes as read by the last build. */
  ownedNodes(): readonly OwnedNode[] {
    return this.lastOwned;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once a fresh state has been built after this call. */
  refreshed(): Promise<SandboxState> {
    return new Promise<SandboxState>((resolve) => this.waiters.push({ after: this.buildsStarted, resolve }));
  }

  /** Rebuilds the state every refreshMs from now on. */
  every(refreshMs: number): void {
    this.timer = setInterval(() => void this.refresh(), refreshMs);
  }

  /** Builds the first state (a sandbox whose state cannot be read does not start: this rejects). */
  async buildFirst(): Promise<void> {
    this.latest = await this.build();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    const generation = ++this.buildsStarted;
    try {
      const next = await this.build();
      this.latest = next;
      const key = JSON.stringify({ ...next, generatedAt: '' });
      if (key !== this.latestKey) {
        this.latestKey = key;
        for (const l of [...this.listeners]) l();
      }
      for (const w of this.waiters.filter((x) => x.after < generation)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(next);
      }
    } catch (error) {
      this.options.log(`state refresh failed: ${errorMessage(error)}`);
    } finally {
      this.refreshing = false;
    }
  }

  private async build(): Promise<SandboxState> {
    const { traffic, windowMs, started, timeline } = this.options;
    const owned = await this.options.listOwned();
    this.lastOwned = owned;
    const since = Math.max(Date.now() - windowMs, started);
    let requests = 0;
    let failed = 0;
    let failedTotal = 0;
    const servedBy = new Map<string, number>();
    for (const client of traffic.values()) {
      const shares = client.shares(since);
      requests += shares.calls;
      failed += shares.failed;
      failedTotal += client.totals().failed;
      for (const [name, count] of shares.perInstance) servedBy.set(name, count);
    }
    const clients = this.options.relay().ads.clients();
    const nextAcked = new Map<string, string>();
    for (const c of clients) {
      const version = JSON.stringify(c.lastAckedVersion);
      nextAcked.set(c.nodeId, version);
      if (this.acked.get(c.nodeId) !== version) timeline.note('client-ack', `${c.nodeId} ACKed ${Object.entries(c.lastAckedVersion).map(([k, v]) => `${k}@${v.slice(0, 8)}`).join(' ')}`);
    }
    this.acked = nextAcked;
    return assembleSandboxState({
      ...this.options.view(),
      owned,
      servedBy,
      traffic: { windowSeconds: windowMs / 1000, requests, failed, failedTotal },
      clients,
      timeline: timeline.entries,
      now: Date.now(),
    });
  }
}
