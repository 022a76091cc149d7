/**
 * Pushed endpoint sets the relay serves ahead of Consul, and the rules that make Consul's own data
 * win over them. A push is a claim — "Consul reached this state at index N" — from a caller that
 * holds the token; the relay believes it only until Consul can answer for itself:
 *  1. bound: a push may claim at most `maxIndexAhead` beyond the latest index the relay saw from
 *     Consul (the push server refuses more; overlays held before the first load are checked at the
 *     load); so no push can claim an index Consul will take years to reach;
 *  2. confirmed: the watch's answer for the service at or after the pushed index replaces it;
 *  3. re-checked: once Consul's index anywhere has reached the pushed index, the service's own
 *     answer gets `recheckGraceMs` to arrive; then the relay reads the service itself, and that
 *     answer replaces the overlay — if Consul had really committed the pushed state it shows it,
 *     and if it shows an older index the push claimed a state Consul never had;
 *  4. unlisted: Consul's service list at or after the pushed index does not list the service;
 *  5. expired: after `overlayTtlMs` (time while the watch cannot reach Consul does not count:
 *     pushes are then all the relay hears, and Consul's answer wins again once it is back);
 *  6. reset: Consul went back in time; pushes indexed in its old history end.
 */
import type { ServiceEndpointSet } from '../../shared/endpoints';

export interface PushRules {
  /** How far beyond the latest index seen from Consul a push may claim to be. */
  readonly maxIndexAhead: number;
  /** How long a push Consul has not confirmed is served. */
  readonly overlayTtlMs: number;
  /** After Consul's index passed a pushed one: how long the service's own answer may take before the relay reads it. */
  readonly recheckGraceMs: number;
  /** How often expiry and due re-checks are looked at. */
  readonly sweepIntervalMs: number;
}

export const DEFAULT_PUSH_RULES: PushRules = { maxIndexAhead: 1_000, overlayTtlMs: 60_000, recheckGraceMs: 1_000, sweepIntervalMs: 1_000 };

export function resolvePushRules(partial: Partial<PushRules>): PushRules {
  const rules = { ...DEFAULT_PUSH_RULES, ...partial };
  for (const [name, min] of [['maxIndexAhead', 0], ['overlayTtlMs', 1], ['recheckGraceMs', 0], ['sweepIntervalMs', 1]] as const) {
    if (!Number.isSafeInteger(rules[name]) || rules[name] < min) throw new TypeError(`push.${name} must be a whole number ≥ ${min}, got ${rules[name]}`);
  }
  return rules;
}

/** A non-blocking read of one service from Consul (the watch's source). */
export type ConsulReader = (service: string) => Promise<ServiceEndpointSet>;

/**
 * Why an overlay stopped being served: Consul answered at or after its index (`confirmed`), or a
 * re-check found Consul at an older index for the service although Consul got past the pushed one
 * (`contradicted`: Consul never had that state), Consul's list does not have the service
 * (`unlisted`), its time ran out (`expired`), Consul went back in time (`reset`), or at the first
 * load it turned out to be beyond the bound (`beyond-consul`).
 */
export type OverlayEnd = 'confirmed' | 'contradicted' | 'unlisted' | 'expired' | 'reset' | 'beyond-consul';

export interface OverlayHost {
  readonly rules: PushRules;
  readonly now: () => number;
  /** Consul's layer for a service. */
  consulSet(service: string): ServiceEndpointSet | undefined;
  /** Lets Consul's layer take an answer the overlays asked for (unless it holds a newer one), adding the service if it lacks it. */
  takeConsulRead(set: ServiceEndpointSet): void;
  /** Runs `apply` and publishes if what is served for `service` changed. */
  change(service: string, apply: () => void): void;
  onEnded(service: string, reason: OverlayEnd, pushedIndex: number): void;
}

interface Overlay {
  /** Replaced by a re-push of the same index (same claim, maybe other endpoints). */
  set: ServiceEndpointSet;
  readonly receivedAt: number;
  expiresAt: number;
  /** When Consul's index reached the pushed one, plus the grace; undefined until then. */
  recheckAt?: number;
  rechecking: boolean;
}

export class PushOverlays {
  private readonly held = new Map<string, Overlay>();
  private readonly timer: NodeJS.Timeout;
  private latest: number | undefined;
  private pausedAt: number | undefined;
  private reader: ConsulReader | undefined;

  constructor(private readonly host: OverlayHost) {
    this.timer = setInterval(() => this.sweep(), host.rules.sweepIntervalMs);
    this.timer.unref();
  }

  /** Highest index a push may claim; undefined before Consul's first answer. */
  indexLimit(): number | undefined {
    return this.bound()?.limit;
  }

  bound(): { readonly latest: number; readonly maxIndexAhead: number; readonly limit: number } | undefined {
    if (this.latest === undefined) return undefined;
    const { maxIndexAhead } = this.host.rules;
    return { latest: this.latest, maxIndexAhead, limit: this.latest + maxIndexAhead };
  }

  get(service: string): ServiceEndpointSet | undefined {
    return this.held.get(service)?.set;
  }

  services(): string[] {
    return [...this.held.keys()];
  }

  attachReader(reader: ConsulReader): void {
    this.reader = reader;
  }

  /**
   * Holds a pushed set (the store already decided it is not older than what it serves). A re-push
   * of the held index is the same claim: it keeps the held overlay's expiry and re-check, so
   * repeating a push cannot keep it served for ever.
   */
  hold(set: ServiceEndpointSet): void {
    const held = this.held.get(set.service);
    if (held && held.set.consulIndex === set.consulIndex) {
      held.set = set;
      return;
    }
    const now = this.host.now();
    const overlay: Overlay = { set, receivedAt: now, expiresAt: now + this.host.rules.overlayTtlMs, rechecking: false };
    if (this.latest !== undefined && this.latest >= set.consulIndex) overlay.recheckAt = now + this.host.rules.recheckGraceMs;
    this.held.set(set.service, overlay);
  }

  /**
   * An answer from Consul: how far its index got. `reset` (the list loop saw Consul's index go
   * back in time) sets the bound to `index` and ends every overlay beyond it; a single service's
   * index going back is that service's own affair (`consulAnswered`).
   */
  consulIndexSeen(index: number, reset: boolean): void {
    this.latest = reset || this.latest === undefined ? index : Math.max(this.latest, index);
    const limit = this.indexLimit() as number;
    const now = this.host.now();
    for (const [service, overlay] of [...this.held]) {
      if (reset && overlay.set.consulIndex > limit) this.endWithChange(service, 'reset');
      else if (overlay.recheckAt === undefined && overlay.set.consulIndex <= this.latest) overlay.recheckAt = now + this.host.rules.recheckGraceMs;
    }
  }

  /** The watch answered for `service` at `index` (the store is already computing the change). */
  consulAnswered(service: string, index: number, authoritative: boolean): void {
    const overlay = this.held.get(service);
    if (overlay && (authoritative || index >= overlay.set.consulIndex)) this.end(service, authoritative ? 'reset' : 'confirmed');
  }

  /** Consul's list at `listIndex` does not have `service` (the store is already computing the change). */
  unlisted(service: string, listIndex: number, authoritative: boolean): void {
    const overlay = this.held.get(service);
    if (overlay && (authoritative || overlay.set.consulIndex <= listIndex)) this.end(service, 'unlisted');
  }

  /** The first load is in, so the bound is known: overlays pushed before it are held to it too. */
  loaded(): void {
    const limit = this.indexLimit();
    if (limit === undefined) return;
    for (const [service, overlay] of [...this.held]) if (overlay.set.consulIndex > limit) this.endWithChange(service, 'beyond-consul');
  }

  setReachable(reachable: boolean): void {
    const now = this.host.now();
    if (!reachable) {
      this.pausedAt ??= now;
      return;
    }
    if (this.pausedAt === undefined) return;
    for (const overlay of this.held.values()) overlay.expiresAt += now - Math.max(this.pausedAt, overlay.receivedAt);
    this.pausedAt = undefined;
  }

  /** Reads `service` from Consul now and lets the store take the answer; undefined without a reader. */
  read(service: string): Promise<ServiceEndpointSet> | undefined {
    if (!this.reader) return undefined;
    return this.reader(service).then((set) => {
      this.takeRead(service, set, undefined);
      return set;
    });
  }

  /** Ends expired overlays (unless Consul is unreachable) and starts due re-checks. */
  sweep(): void {
    const now = this.host.now();
    for (const [service, overlay] of [...this.held]) {
      if (this.pausedAt === undefined && now >= overlay.expiresAt) this.endWithChange(service, 'expired');
      else if (overlay.recheckAt !== undefined && now >= overlay.recheckAt && !overlay.rechecking && this.reader) this.recheck(service, overlay, this.reader);
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  private recheck(service: string, overlay: Overlay, reader: ConsulReader): void {
    overlay.rechecking = true;
    reader(service).then(
      (set) => this.takeRead(service, set, overlay),
      () => {
        // Consul did not answer: try again after another grace (expiry still bounds the overlay).
        overlay.rechecking = false;
        overlay.recheckAt = this.host.now() + this.host.rules.recheckGraceMs;
      },
    );
  }

  /**
   * A read of `service` from Consul answered (re-check or push check): Consul's layer takes it, and
   * it ends the overlay if it is at or after the pushed index (`confirmed`); when it is older and
   * is the answer to a re-check of the overlay still held (`rechecked`), Consul got past the pushed
   * index without that state (`contradicted`).
   * When Consul's layer does not hold the service yet, the read becomes its set if it shows the
   * service (has endpoints) and replaces an overlay: a pushed service Consul confirmed stays served
   * until its own watch loop answers (the list loop still removes it if Consul does not list it).
   * An empty read there is Consul not having the service; and with no overlay nothing is served
   * for the service and the read adds nothing (the push it checks may still be refused).
   */
  private takeRead(service: string, set: ServiceEndpointSet, rechecked: Overlay | undefined): void {
    this.consulIndexSeen(set.consulIndex, false);
    const overlay = this.held.get(service);
    const consulHolds = this.host.consulSet(service) !== undefined;
    if (!overlay && !consulHolds) return;
    this.host.change(service, () => {
      if (consulHolds || set.endpoints.length > 0) this.host.takeConsulRead(set);
      if (!overlay) return;
      if (set.consulIndex >= overlay.set.consulIndex) this.end(service, 'confirmed');
      else if (overlay === rechecked) this.end(service, 'contradicted');
    });
  }

  private endWithChange(service: string, reason: OverlayEnd): void {
    this.host.change(service, () => this.end(service, reason));
  }

  private end(service: string, reason: OverlayEnd): void {
    const overlay = this.held.get(service);
    if (!overlay) return;
    this.held.delete(service);
    try {
      this.host.onEnded(service, reason, overlay.set.consulIndex);
    } catch {
      // an observer's failure is its own problem
    }
  }
}
