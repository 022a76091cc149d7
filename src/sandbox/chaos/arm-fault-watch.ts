/**
 * Which armed ARM fault each request used, so two ARM faults can be armed at once (overlapped
 * runs: one per route, and per scale set on a scale set's GET) and each still knows whether it reached a request. The emulator's
 * FaultInjector only tells the sum of what is left (`pending`) and clears everything at once, so
 * the watch wraps its take methods on this one injector, counts the takes that match each tracked
 * fault (route and path, as the injector matches them; tracked faults never overlap), and clears
 * the injector once no tracked fault is waiting any more.
 */
import type { FaultInjector } from '../arm-emulator/throttling';

/** The requests a fault meets: any of its routes (a fault may be armed on each way the app reads one thing), and the path. */
export interface TrackedMatch {
  readonly routes: readonly string[];
  readonly pathIncludes?: string;
}

interface Tracked {
  readonly match: TrackedMatch;
  used: number;
}

type ArmRequest = { readonly method: string; readonly route: string | null; readonly path: string };

const matches = (match: TrackedMatch, request: ArmRequest) =>
  request.route !== null && match.routes.includes(request.route) && (match.pathIncludes === undefined || request.path.toLowerCase().includes(match.pathIncludes.toLowerCase()));

export class ArmFaultWatch {
  private readonly tracked = new Set<Tracked>();
  private readonly take: FaultInjector['take'];
  private readonly takeDelay: FaultInjector['takeDelay'];
  private readonly takePageFault: FaultInjector['takePageFault'];

  constructor(private readonly faults: FaultInjector) {
    const seen = (request: ArmRequest) => {
      for (const t of this.tracked) if (matches(t.match, request)) return void (t.used += 1);
    };
    const take = (this.take = faults.take.bind(faults));
    const takeDelay = (this.takeDelay = faults.takeDelay.bind(faults));
    const takePageFault = (this.takePageFault = faults.takePageFault.bind(faults));
    faults.take = (request) => {
      const hit = take(request);
      if (hit) seen(request);
      return hit;
    };
    faults.takeDelay = (request) => {
      const hit = takeDelay(request);
      if (hit !== undefined) seen(request);
      return hit;
    };
    faults.takePageFault = (request) => {
      const hit = takePageFault(request);
      if (hit) seen(request);
      return hit;
    };
  }

  /**
   * Starts counting the takes of a fault about to be armed; `end()` stops and takes away what is
   * left of that fault (tracked faults never share a route and path, so nothing of another goes
   * with it), and clears the injector when nothing else is tracked.
   */
  track(match: TrackedMatch): { used(): number; end(): void } {
    const entry: Tracked = { match, used: 0 };
    this.tracked.add(entry);
    return {
      used: () => entry.used,
      end: () => {
        this.tracked.delete(entry);
        if (this.tracked.size === 0) return this.faults.clear();
        // A request only this fault matches, answered by the injector's own take methods (not counted).
        for (const route of match.routes) {
          const request: ArmRequest = { method: 'GET', route, path: `/${match.pathIncludes ?? ''}` };
          for (let left = 1_000; left > 0 && (this.take(request) || this.takeDelay(request) !== undefined || this.takePageFault(request)); left -= 1);
        }
      },
    };
  }
}
