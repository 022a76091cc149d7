/**
 * One ADS stream (SotW or Delta): remembers the node of the first request, applies requests to its
 * per-kind subscriptions, and sends what the response planner says, from the snapshot it has
 * adopted. A stream adopts a newer snapshot at most once per `minSendIntervalMs`; versions
 * published in between are skipped (it jumps to the newest), so a burst of changes costs each
 * stream one update per interval.
 *
 * What a stream may cost is bounded whatever its client sends (src/relay/limits): the node it keeps
 * (only the fields used) and the names it holds subscribed; over either limit the stream ends with
 * RESOURCE_EXHAUSTED and a message naming the setting. Unread responses are bounded by the protocol:
 * at most one response per kind is unACKed (response-planner.ts), and a client cannot ACK what it
 * has not read because every nonce carries random bytes — a client that stops reading holds at
 * most one response per kind.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage, InvalidInputError } from '../../shared/errors';
import type { Snapshot, SnapshotSource } from '../snapshot/snapshot-types';
import type { ClientProfile } from '../xds/client-profile';
import { kindOfTypeUrl } from '../xds/kinds';
import { RESOURCE_KINDS, type ResourceKind } from '../xds/resource-kind';
import { safely, type AdsHooks, type AdsMode, type ClientStatus, type StreamInfo } from './ads-hooks';
import { LIMIT_SETTING, type LimitName, type RelayLimits } from '../limits/limit-settings';
import { keptNodeBytes, type DeltaRequest, type MalformedRequest, type SotwRequest } from './ads-requests';
import { encodeDeltaResponse, encodeSotwResponse, type DeltaResponse, type OutgoingResponse, type SotwResponse } from './ads-responses';
import { KindSubscription, type Settlement } from './kind-subscription';
import { nonceRandomPart } from './nonce-random';
import { profileOfNode } from './profile';
import { commitPlannedResponse, planNextResponse, type PlannedResponse, type Subscriptions } from './response-planner';

export type IncomingRequest = SotwRequest | DeltaRequest | MalformedRequest;
export type AdsCall = grpc.ServerDuplexStream<IncomingRequest, OutgoingResponse>;

/**
 * What a stream uses of its gRPC call (grpc-js's ServerDuplexStream fits), so tests can drive a
 * stream without a network. Events: 'data' (IncomingRequest), 'end', 'cancelled', 'error'.
 */
export interface AdsStreamCall {
  on(event: 'data', listener: (request: IncomingRequest) => void): unknown;
  on(event: 'end' | 'cancelled', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  write(response: OutgoingResponse): unknown;
  /** Ends the call with OK. */
  end(): void;
  /** grpc-js ends a server call with the status of an emitted error ({code, details}). */
  emit(event: 'error', error: Error & { code: grpc.status; details: string }): unknown;
  getPeer(): string;
}

/** What a stream needs from the service that owns it. */
export interface StreamEnvironment {
  readonly source: SnapshotSource;
  readonly hooks: AdsHooks | undefined;
  readonly minSendIntervalMs: number;
  /** Start of every nonce (the stream id, a counter and random bytes follow). */
  readonly noncePrefix: string;
  readonly limits: Pick<RelayLimits, 'maxNodeBytes' | 'maxSubscriptionBytes'>;
  now(): number;
  /** Called once, when the first request has identified the client. */
  opened(stream: AdsStream): void;
  /** Called once, when the stream is over (for any reason). */
  closed(stream: AdsStream): void;
}

type Outcome = 'initial' | 'ack' | 'nack' | 'subscription-change' | 'stale-nonce';

interface LastNack {
  readonly kind: ResourceKind;
  readonly version: string;
  readonly error: string;
  readonly at: string;
}

type AdsStreamEnvironmentLimits = StreamEnvironment['limits'];

export class AdsStream {
  private info: StreamInfo | undefined;
  private connectedAt = '';
  private readonly subs: Subscriptions;
  private snapshot: Snapshot | undefined;
  private adoptedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private responsesSent = 0;
  private lastNack: LastNack | undefined;
  private over = false;

  constructor(
    readonly streamId: number,
    readonly mode: AdsMode,
    private readonly call: AdsStreamCall,
    private readonly env: StreamEnvironment,
  ) {
    const subs = {} as Record<ResourceKind, KindSubscription>;
    for (const kind of RESOURCE_KINDS) subs[kind] = new KindSubscription(kind);
    this.subs = subs;
    call.on('data', (request: IncomingRequest) => this.onRequest(request));
    call.on('end', () => this.end('client closed the stream', undefined));
    call.on('cancelled', () => this.finish('cancelled by the client'));
    call.on('error', (error: Error) => this.finish(`stream error: ${error.message}`));
  }

  get profile(): ClientProfile | undefined {
    return this.info?.profile;
  }

  get isOver(): boolean {
    return this.over;
  }

  /** Ends the stream with a status (UNAVAILABLE on shutdown, INVALID_ARGUMENT for bad input). */
  end(reason: string, status: { code: grpc.status; details: string } | undefined): void {
    if (this.over) return;
    this.finish(reason);
    try {
      if (status) this.call.emit('error', Object.assign(new Error(status.details), status));
      else this.call.end();
    } catch {
      // the call may already be gone
    }
  }

  private finish(reason: string): void {
    if (this.over) return;
    this.over = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.env.closed(this);
    const info = this.info;
    const hooks = this.env.hooks;
    if (info && hooks?.onStreamClosed) safely(() => hooks.onStreamClosed!(info, reason));
  }

  private onRequest(request: IncomingRequest): void {
    if (this.over) return;
    try {
      if (request.mode === 'malformed') {
        this.end('malformed request', { code: grpc.status.INVALID_ARGUMENT, details: request.error });
        return;
      }
      if (!this.info && !this.identify(request)) return;
      const kind = kindOfTypeUrl(request.typeUrl);
      // Types the relay does not serve (secrets, runtime, ...) stay unanswered, as xDS allows.
      if (!kind) return;
      const changed = request.mode === 'sotw' ? this.onSotwRequest(kind, request) : this.onDeltaRequest(kind, request);
      // Only a changed subscription can hold more (ACKs, the bulk of requests, cannot).
      const held = changed ? this.subscriptionBytes() : 0;
      if (held > this.env.limits.maxSubscriptionBytes) {
        this.exceeded('max_subscription', 'maxSubscriptionBytes', `subscriptions: ${held} bytes of resource names`);
        return;
      }
      this.pump();
    } catch (error) {
      this.end(`internal error: ${errorMessage(error)}`, { code: grpc.status.INTERNAL, details: errorMessage(error) });
    }
  }

  /** Remembers the node of the first request (later ones may omit it) and picks the profile. */
  private identify(request: SotwRequest | DeltaRequest): boolean {
    const node = request.node;
    if (!node) {
      this.end('no node', { code: grpc.status.INVALID_ARGUMENT, details: 'node: the first request on an ADS stream must carry the node' });
      return false;
    }
    const nodeBytes = keptNodeBytes(node);
    if (nodeBytes > this.env.limits.maxNodeBytes) {
      this.exceeded('max_node', 'maxNodeBytes', `node: id, cluster, user_agent_name and metadata.vmss_mesh_profile are ${nodeBytes} bytes`);
      return false;
    }
    let profile: ClientProfile;
    try {
      profile = profileOfNode(node);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      this.end('unusable node', { code: grpc.status.INVALID_ARGUMENT, details: error.message });
      return false;
    }
    this.info = {
      streamId: this.streamId,
      mode: this.mode,
      nodeId: node.id,
      nodeCluster: node.cluster,
      userAgent: node.userAgentName,
      profile,
      peer: this.call.getPeer(),
    };
    this.connectedAt = new Date().toISOString();
    this.env.opened(this);
    const info = this.info;
    const hooks = this.env.hooks;
    if (hooks?.onStreamOpen) safely(() => hooks.onStreamOpen!(info));
    return true;
  }

  /** Ends the stream with RESOURCE_EXHAUSTED: "<what>, more than <SETTING> (<limit>)". */
  private exceeded(limit: LimitName, setting: keyof AdsStreamEnvironmentLimits, what: string): void {
    const details = `${what}, more than ${LIMIT_SETTING[setting]} (${this.env.limits[setting]})`;
    this.end(details, { code: grpc.status.RESOURCE_EXHAUSTED, details });
    const hooks = this.env.hooks;
    if (hooks?.onLimitExceeded) safely(() => hooks.onLimitExceeded!(limit, this.call.getPeer(), details));
  }

  /** What the client made this stream hold: the names it subscribed to or claims (bytes). */
  private subscriptionBytes(): number {
    let bytes = 0;
    for (const kind of RESOURCE_KINDS) bytes += this.subs[kind].clientHeldBytes();
    return bytes;
  }

  /** Returns whether the request changed the subscription. */
  private onSotwRequest(kind: ResourceKind, request: SotwRequest): boolean {
    const sub = this.subs[kind];
    // SotW: a request answering anything but our latest response of its kind is stale.
    if (sub.responded && request.responseNonce !== sub.lastNonce) {
      sub.noteStaleSotwRequest(request.resourceNames);
      this.report(kind, 'stale-nonce', undefined);
      return false;
    }
    const settled = sub.settle(request.responseNonce, request.errorDetail, this.env.now());
    const outcome: Outcome = settled?.outcome ?? (sub.requested ? 'subscription-change' : 'initial');
    const changed = sub.applySotwNames(request.resourceNames);
    sub.requested = true;
    this.report(kind, outcome, settled);
    return changed;
  }

  /** Returns whether the request changed the subscription (or claimed versions, on the first one). */
  private onDeltaRequest(kind: ResourceKind, request: DeltaRequest): boolean {
    const sub = this.subs[kind];
    const settled = sub.settle(request.responseNonce, request.errorDetail, this.env.now());
    const stale = !settled && request.responseNonce !== '' && sub.responded && request.responseNonce !== sub.lastNonce;
    const first = !sub.requested;
    // Delta: subscription changes count whatever the nonce says.
    const changed = sub.applyDeltaRequest(request, first);
    sub.requested = true;
    const outcome: Outcome = settled?.outcome ?? (first ? 'initial' : stale && !changed ? 'stale-nonce' : 'subscription-change');
    this.report(kind, outcome, settled);
    return changed || first;
  }

  private report(kind: ResourceKind, outcome: Outcome, settled: Settlement | undefined): void {
    if (settled?.outcome === 'nack') {
      this.lastNack = { kind, version: settled.version, error: settled.error ?? '', at: new Date().toISOString() };
    }
    const info = this.info;
    const hooks = this.env.hooks;
    if (info && hooks?.onRequest) safely(() => hooks.onRequest!(info, kind, outcome, settled?.latencyMs, settled?.error));
  }

  /**
   * Brings the client up to date as far as the protocol allows now: adopts the newest snapshot
   * (rate permitting) and sends every response the planner releases.
   */
  pump(): void {
    if (this.over || !this.info) return;
    try {
      const source = this.env.source;
      if (!source.ready()) return;
      const latest = source.current(this.info.profile);
      if (latest !== this.snapshot) {
        const now = this.env.now();
        const wait = this.snapshot ? this.adoptedAt + this.env.minSendIntervalMs - now : 0;
        if (wait <= 0) {
          this.snapshot = latest;
          this.adoptedAt = now;
        } else {
          this.wakeIn(wait);
        }
      }
      const snapshot = this.snapshot;
      if (!snapshot) return;
      for (let planned = planNextResponse(this.mode, this.subs, snapshot); planned; planned = planNextResponse(this.mode, this.subs, snapshot)) {
        this.send(planned);
      }
    } catch (error) {
      this.end(`internal error: ${errorMessage(error)}`, { code: grpc.status.INTERNAL, details: errorMessage(error) });
    }
  }

  private wakeIn(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, ms);
    this.timer.unref();
  }

  private send(planned: PlannedResponse): void {
    // Random per response, so only a client that read the response can ACK it (see the module comment).
    const nonce = `${this.env.noncePrefix}${this.streamId}.${++this.responsesSent}.${nonceRandomPart()}`;
    let outgoing: OutgoingResponse;
    if (this.mode === 'sotw') {
      const response: SotwResponse = { kind: planned.kind, versionInfo: planned.version, nonce, resources: planned.resources };
      outgoing = { response, encoded: encodeSotwResponse(response) };
    } else {
      const response: DeltaResponse = {
        kind: planned.kind,
        systemVersionInfo: planned.version,
        nonce,
        resources: planned.resources,
        removed: planned.removed,
      };
      outgoing = { response, encoded: encodeDeltaResponse(response) };
    }
    commitPlannedResponse(this.subs, planned);
    const sub = this.subs[planned.kind];
    sub.inFlight = { nonce, version: planned.version, sentAt: this.env.now(), resources: planned.resources };
    sub.lastNonce = nonce;
    sub.responded = true;
    sub.lastSentVersion = planned.version;
    this.call.write(outgoing);
    const info = this.info;
    const hooks = this.env.hooks;
    if (info && hooks?.onResponse) {
      safely(() => hooks.onResponse!(info, planned.kind, planned.version, planned.resources.length + planned.removed.length, outgoing.encoded.length));
    }
  }

  status(): ClientStatus | undefined {
    const info = this.info;
    if (!info) return undefined;
    const subscriptions: Partial<Record<ResourceKind, readonly string[] | '*'>> = {};
    const lastSentVersion: Partial<Record<ResourceKind, string>> = {};
    const lastAckedVersion: Partial<Record<ResourceKind, string>> = {};
    for (const kind of RESOURCE_KINDS) {
      const sub = this.subs[kind];
      if (!sub.requested) continue;
      subscriptions[kind] = sub.subscriptionView();
      if (sub.lastSentVersion !== undefined) lastSentVersion[kind] = sub.lastSentVersion;
      if (sub.lastAckedVersion !== undefined) lastAckedVersion[kind] = sub.lastAckedVersion;
    }
    return {
      ...info,
      connectedAt: this.connectedAt,
      subscriptions,
      lastSentVersion,
      lastAckedVersion,
      ...(this.lastNack ? { lastNack: this.lastNack } : {}),
    };
  }
}
