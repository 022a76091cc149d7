/**
 * Calls that reached no instance at all, grouped per service into windows: a window opens at the
 * first such call and closes when a call of that service reaches an instance again (or at the
 * end). Failed calls return at once and the probe calls back to back, so the count of such calls
 * says little; the windows' durations say how long a service was unreachable.
 *
 * Each call is judged by what ARM said at that moment: a call while ARM had an instance of the
 * service running and healthy for longer than the convergence bound should have reached it, so
 * it counts as a failure; other calls (no live instance, or only ones younger than the bound)
 * are what a fault or a scale-in may cost.
 */
import type { ProbeCall } from './traffic-probe';

export interface NoEndpointContext {
  /** For each of ARM's running + healthy instances of the service: how long it has been so (ms). */
  readonly liveForMs: readonly number[];
  /** The relay's proxyless endpoints of the service (IP → health); undefined = no such resource. */
  readonly relay?: ReadonlyMap<string, string>;
  readonly faultClass: string;
  readonly step: string;
}

export interface NoEndpointWindow {
  readonly service: string;
  /** Step and fault class when the window opened. */
  readonly step: string;
  readonly faultClass: string;
  readonly startedAt: number;
  endedAt: number;
  calls: number;
  /** Calls while ARM had an instance live for longer than the bound (failures). */
  judgedCalls: number;
  /** Time of the window during which ARM had an instance live for longer than the bound. */
  judgedMs: number;
  readonly errors: Map<string, number>;
  /** Most live instances ARM had at a call of the window, and the longest any had been live (ms). */
  maxArmLive: number;
  maxLiveForMs: number;
  /** Fewest and most healthy endpoints the relay served at a call of the window (-1: no resource). */
  minRelayHealthy: number;
  maxRelayHealthy: number;
  lastCallEnd: number;
  lastJudged: boolean;
}

export interface NoEndpointSummary {
  readonly calls: number;
  readonly windows: number;
  /** Sum of the windows' durations (per service: two services out at once count twice). */
  readonly ms: number;
  /** `ms` / (probe time × services). */
  readonly share: number;
  readonly judgedCalls: number;
  readonly judgedMs: number;
  readonly longestMs: number;
}

export class NoEndpointLog {
  readonly windows: NoEndpointWindow[] = [];
  private readonly open = new Map<string, NoEndpointWindow>();
  private calls = 0;
  private judgedCalls = 0;

  constructor(
    private readonly boundMs: number,
    private readonly onClose: (window: NoEndpointWindow) => void = () => undefined,
  ) {}

  /** A call that reached no instance: whether it is a failure, and whether it opened a window. */
  record(call: ProbeCall, context: NoEndpointContext): { readonly judged: boolean; readonly opened: boolean } {
    const judged = context.liveForMs.some((ms) => ms > this.boundMs);
    const healthy = context.relay ? [...context.relay.values()].filter((h) => h === 'passing').length : -1;
    let window = this.open.get(call.service);
    const opened = !window;
    if (!window) {
      window = {
        service: call.service,
        step: context.step,
        faultClass: context.faultClass,
        startedAt: call.startedAt,
        endedAt: call.endedAt,
        calls: 0,
        judgedCalls: 0,
        judgedMs: 0,
        errors: new Map(),
        maxArmLive: 0,
        maxLiveForMs: 0,
        minRelayHealthy: healthy,
        maxRelayHealthy: healthy,
        lastCallEnd: call.startedAt,
        lastJudged: false,
      };
      this.open.set(call.service, window);
      this.windows.push(window);
    }
    if (judged) window.judgedMs += call.endedAt - (window.lastJudged ? window.lastCallEnd : call.startedAt);
    window.lastCallEnd = call.endedAt;
    window.lastJudged = judged;
    window.endedAt = call.endedAt;
    window.calls += 1;
    this.calls += 1;
    if (judged) {
      window.judgedCalls += 1;
      this.judgedCalls += 1;
    }
    const error = (call.error ?? '').slice(0, 200);
    window.errors.set(error, (window.errors.get(error) ?? 0) + 1);
    window.maxArmLive = Math.max(window.maxArmLive, context.liveForMs.length);
    window.maxLiveForMs = Math.max(window.maxLiveForMs, ...context.liveForMs);
    window.minRelayHealthy = Math.min(window.minRelayHealthy, healthy);
    window.maxRelayHealthy = Math.max(window.maxRelayHealthy, healthy);
    return { judged, opened };
  }

  /** A call that reached an instance closes its service's window (the window ends when that call started). */
  reached(call: ProbeCall): void {
    const window = this.open.get(call.service);
    if (!window) return;
    window.endedAt = Math.max(window.endedAt, call.startedAt);
    if (window.lastJudged) window.judgedMs += window.endedAt - window.lastCallEnd;
    this.open.delete(call.service);
    this.onClose(window);
  }

  /** Closes the windows still open (the probe stopped at `at`). */
  closeAll(at: number): void {
    for (const window of this.open.values()) {
      const end = Math.max(window.endedAt, at);
      if (window.lastJudged) window.judgedMs += end - window.lastCallEnd;
      window.endedAt = end;
      this.onClose(window);
    }
    this.open.clear();
  }

  /** The `n` commonest errors of calls that reached no instance, over all windows, as `service: error` with its count. */
  commonestErrors(n: number): Array<[string, number]> {
    const counts = new Map<string, number>();
    for (const w of this.windows) for (const [error, count] of w.errors) counts.set(`${w.service}: ${error}`, (counts.get(`${w.service}: ${error}`) ?? 0) + count);
    return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
  }

  summary(probeMs: number, services: number): NoEndpointSummary {
    const ms = this.windows.reduce((sum, w) => sum + (w.endedAt - w.startedAt), 0);
    return {
      calls: this.calls,
      windows: this.windows.length,
      ms,
      share: ms / Math.max(1, probeMs * services),
      judgedCalls: this.judgedCalls,
      judgedMs: this.windows.reduce((sum, w) => sum + w.judgedMs, 0),
      longestMs: this.windows.reduce((max, w) => Math.max(max, w.endedAt - w.startedAt), 0),
    };
  }
}

/** One line per window (`origin`: the soak's start, for relative times). */
export function describeWindow(w: NoEndpointWindow, origin: number): string {
  const errors = [...w.errors].sort((a, b) => b[1] - a[1]).map(([e, n]) => `${n} × ${e.slice(0, 120)}`).join(' | ');
  const relay = (n: number) => (n < 0 ? 'no resource' : String(n));
  return (
    `${w.service} reached no instance ${((w.startedAt - origin) / 1000).toFixed(2)}–${((w.endedAt - origin) / 1000).toFixed(2)} s (${w.endedAt - w.startedAt} ms, ${w.calls} calls, ` +
    `${w.judgedCalls} while ARM had an instance live past the bound) from ${w.step}; ARM live ≤ ${w.maxArmLive} (longest ${w.maxLiveForMs} ms); ` +
    `relay healthy ${relay(w.minRelayHealthy)}–${relay(w.maxRelayHealthy)}; ${errors}`
  );
}
