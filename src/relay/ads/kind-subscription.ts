/**
 * One stream's state for one resource kind: what the client subscribed to, what it has (as far as
 * the server knows), and the response it has not yet ACKed or NACKed. Versions and references to
 * the shared EncodedResource objects only, never copies of bytes.
 */
import { XDS_KINDS } from '../xds/kinds';
import type { EncodedResource, ResourceKind } from '../xds/resource-kind';
import type { DeltaRequest, ErrorDetail } from './ads-requests';

/**
 * What the client holds for one name:
 * - an EncodedResource: the server sent exactly this resource;
 * - a string: the client said it holds this version (Delta `initial_resource_versions`);
 * - null: the client was told the resource does not exist (Delta `removed_resources`).
 */
export type Known = EncodedResource | string | null;

/**
 * Recorded for a name the client holds but must get again (it asked for it anew, or its cluster
 * changed): no real version equals it (versions are content hashes), yet the server still knows
 * the client holds something, so a deletion is still announced.
 */
export const MUST_RESEND = '\u0000must-resend';

export function knownVersion(known: Known | undefined): string | undefined {
  if (known === undefined || known === null) return undefined;
  return typeof known === 'string' ? known : known.version;
}

/** Listener and Cluster are the kinds with wildcard subscriptions (`*` or the legacy empty request). */
function supportsWildcard(kind: ResourceKind): boolean {
  return XDS_KINDS[kind].wildcard;
}

export const WILDCARD = '*';

export interface InFlight {
  readonly nonce: string;
  readonly version: string;
  /** `now()` when it was written, for the ACK latency. */
  readonly sentAt: number;
  /** What it carried (the shared objects). */
  readonly resources: readonly EncodedResource[];
}

export interface Settlement {
  readonly outcome: 'ack' | 'nack';
  readonly version: string;
  readonly latencyMs: number;
  readonly error?: string;
}

export class KindSubscription {
  /** The client sent at least one request for this kind. */
  requested = false;
  wildcard = false;
  /** Once a name (even `*`) was asked for, an empty request means "nothing", not the legacy wildcard. */
  explicitlySubscribed = false;
  names = new Set<string>();
  readonly known = new Map<string, Known>();
  /**
   * Delta: names unsubscribed while a wildcard is active. The client cannot tell whether the
   * wildcard still covers them, so it must get each again or its removal (xDS protocol,
   * "Unsubscribing from Resources").
   */
  readonly owedAnswers = new Set<string>();
  /** At least one response of this kind was sent on the stream. */
  responded = false;
  lastNonce = '';
  inFlight: InFlight | undefined;
  lastSentVersion: string | undefined;
  lastAckedVersion: string | undefined;
  /** The version of the last response the client rejected (NACK). */
  lastNackedVersion: string | undefined;

  constructor(readonly kind: ResourceKind) {}

  interestedIn(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /**
   * Bytes of what the client made this subscription hold, each name once: the names it asked for,
   * the names it must be answered about, and the versions it claims (with their names). Resources
   * the relay sent, names it answered as absent (they are subscribed names) and MUST_RESEND marks
   * are the relay's own and not counted.
   */
  clientHeldBytes(): number {
    let bytes = 0;
    for (const name of this.names) bytes += Buffer.byteLength(name);
    for (const name of this.owedAnswers) if (!this.names.has(name)) bytes += Buffer.byteLength(name);
    for (const [name, known] of this.known) {
      if (typeof known !== 'string' || known === MUST_RESEND) continue;
      bytes += Buffer.byteLength(known);
      if (!this.names.has(name) && !this.owedAnswers.has(name)) bytes += Buffer.byteLength(name);
    }
    return bytes;
  }

  /** What `/debug/clients` shows. */
  subscriptionView(): readonly string[] | '*' {
    return this.wildcard ? WILDCARD : [...this.names].sort();
  }

  /** The client must get `name` again: the resource if it exists (see MUST_RESEND), else its absence. */
  mustResend(name: string): void {
    const known = this.known.get(name);
    if (known === null) this.known.delete(name);
    else if (known !== undefined) this.known.set(name, MUST_RESEND);
  }

  /**
   * Forgets what the client holds outside its interest (it drops those resources itself), except
   * what the response in flight carries: the client handles that response only after this
   * subscription change and keeps whatever of it its interest covers by then (Delta applies
   * changes whatever the nonce, so a change can cross a response). Pruned when it is settled.
   */
  private forgetUninterested(): void {
    const carried = this.inFlight ? new Set(this.inFlight.resources.map((r) => r.name)) : undefined;
    for (const name of this.known.keys()) {
      if (!this.interestedIn(name) && !carried?.has(name)) this.known.delete(name);
    }
  }

  /**
   * Settles the in-flight response when `nonce` is its nonce: an ACK, or a NACK when an error is
   * present. The rejected resources stay recorded as sent so they are never resent; the next
   * changed version goes out normally.
   */
  settle(nonce: string, errorDetail: ErrorDetail | undefined, now: number): Settlement | undefined {
    const inFlight = this.inFlight;
    if (!inFlight || nonce === '' || nonce !== inFlight.nonce) return undefined;
    this.inFlight = undefined;
    this.forgetUninterested();
    const latencyMs = Math.max(0, now - inFlight.sentAt);
    if (errorDetail) {
      const error = errorDetail.message !== '' ? errorDetail.message : `error code ${errorDetail.code}`;
      this.lastNackedVersion = inFlight.version;
      return { outcome: 'nack', version: inFlight.version, latencyMs, error };
    }
    this.lastAckedVersion = inFlight.version;
    return { outcome: 'ack', version: inFlight.version, latencyMs };
  }

  /**
   * SotW: a request with a stale nonce is ignored, but it still counts for the legacy wildcard,
   * which holds only while every request of the kind had an empty list (xDS protocol).
   */
  noteStaleSotwRequest(resourceNames: readonly string[]): void {
    // What it leaves out, the client has dropped: if it asks for it again, it must get it again.
    const wildcard =
      supportsWildcard(this.kind) && (resourceNames.includes(WILDCARD) || (resourceNames.length === 0 && !this.explicitlySubscribed));
    if (!wildcard) {
      const covered = new Set(resourceNames);
      for (const name of [...this.known.keys()]) {
        if (!covered.has(name)) this.mustResend(name);
      }
    }
    if (resourceNames.length > 0) this.explicitlySubscribed = true;
  }

  /**
   * SotW: every request carries the full list of names. Newly requested names are resent even if
   * the client had them; names left out are forgotten (the client drops them). Returns whether the
   * subscription changed (an ACK repeats it unchanged).
   */
  applySotwNames(resourceNames: readonly string[]): boolean {
    let wildcard = false;
    const names = new Set<string>();
    for (const name of resourceNames) {
      if (name === WILDCARD && supportsWildcard(this.kind)) wildcard = true;
      else names.add(name);
    }
    if (resourceNames.length === 0 && supportsWildcard(this.kind) && !this.explicitlySubscribed) wildcard = true;
    if (resourceNames.length > 0) this.explicitlySubscribed = true;
    let changed = wildcard !== this.wildcard || names.size !== this.names.size;
    for (const name of names) {
      if (this.names.has(name)) continue;
      changed = true;
      this.mustResend(name);
    }
    this.names = names;
    this.wildcard = wildcard;
    this.forgetUninterested();
    return changed;
  }

  /**
   * Delta: subscription changes apply whatever the nonce. `initial_resource_versions` counts only on
   * the first request of the kind on the stream. Returns whether the subscription changed.
   */
  applyDeltaRequest(request: DeltaRequest, first: boolean): boolean {
    const canWildcard = supportsWildcard(this.kind);
    let changed = false;
    if (first && canWildcard && request.subscribe.length === 0 && request.unsubscribe.length === 0) {
      this.wildcard = true; // the legacy wildcard
      changed = true;
    }
    for (const name of request.subscribe) {
      changed = true;
      this.explicitlySubscribed = true;
      if (name === WILDCARD && canWildcard) {
        this.wildcard = true;
        continue;
      }
      this.names.add(name);
      this.owedAnswers.delete(name);
      // The client may have forgotten it while staying subscribed: always answer a subscribe.
      if (!request.initialResourceVersions.has(name)) this.mustResend(name);
    }
    for (const name of request.unsubscribe) {
      changed = true;
      if (name === WILDCARD && canWildcard) {
        this.wildcard = false;
        continue;
      }
      this.names.delete(name);
      this.owedAnswers.delete(name);
      // With a wildcard too, the client cannot tell whether the wildcard still covers the name:
      // it must get the resource again or its removal.
      if (this.wildcard) {
        this.mustResend(name);
        this.owedAnswers.add(name);
      }
    }
    this.forgetUninterested();
    if (first) {
      for (const [name, version] of request.initialResourceVersions) {
        if (this.interestedIn(name)) this.known.set(name, version);
      }
    }
    return changed;
  }
}
