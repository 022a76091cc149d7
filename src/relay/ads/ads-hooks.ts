/**
 * What the ADS servers tell the rest of the relay (metrics, admin API, logs). Protocol code calls
 * these hooks; it never imports metrics or HTTP code itself. Hooks must be cheap and must not
 * throw (an exception is caught and dropped by the server).
 */
import type { LimitName } from '../limits/limit-settings';
import type { ClientProfile } from '../xds/client-profile';
import type { ResourceKind } from '../xds/resource-kind';

export type AdsMode = 'sotw' | 'delta';

export interface StreamInfo {
  /** Unique per stream for the process lifetime. */
  readonly streamId: number;
  readonly mode: AdsMode;
  /** From the stream's first request (remembered: later requests may omit it). */
  readonly nodeId: string;
  readonly nodeCluster: string;
  readonly userAgent: string;
  readonly profile: ClientProfile;
  readonly peer: string;
}

export interface AdsHooks {
  onStreamOpen?(stream: StreamInfo): void;
  /** `ackLatencyMs` is set on an ACK or NACK of a response this stream sent. */
  onRequest?(stream: StreamInfo, kind: ResourceKind, outcome: 'initial' | 'ack' | 'nack' | 'subscription-change' | 'stale-nonce', ackLatencyMs?: number, error?: string): void;
  onResponse?(stream: StreamInfo, kind: ResourceKind, version: string, resourceCount: number, bytes: number): void;
  onStreamClosed?(stream: StreamInfo, reason: string): void;
  /** A stream was refused or ended because it hit `limit`; `detail` is the message its client got. */
  onLimitExceeded?(limit: LimitName, peer: string, detail: string): void;
}

/** Calls a hook; a throwing hook must not break the protocol (its exception is dropped). */
export function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // dropped by contract (see AdsHooks)
  }
}

/** Per-client state the admin API shows (`/debug/clients`). */
export interface ClientStatus extends StreamInfo {
  readonly connectedAt: string;
  readonly subscriptions: Readonly<Partial<Record<ResourceKind, readonly string[] | '*'>>>;
  readonly lastSentVersion: Readonly<Partial<Record<ResourceKind, string>>>;
  readonly lastAckedVersion: Readonly<Partial<Record<ResourceKind, string>>>;
  readonly lastNack?: { readonly kind: ResourceKind; readonly version: string; readonly error: string; readonly at: string };
}
