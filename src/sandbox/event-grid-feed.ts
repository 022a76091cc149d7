/**
 * Event Grid, simulated from ARM's own operations: each operation is delivered to the Functions
 * app when it is accepted and again when it completes (instances provisioned or deleted), as Azure
 * sends the write event at completion. First attempts go one after the other; a failed one is
 * retried in the background on Event Grid's (compressed) schedule, the same events again, while
 * later deliveries go on. Optional chaos: duplicated and reordered events.
 */
import { computeTargetOf, parseResourceId } from '../shared/resource-id';
import { errorMessage } from '../shared/errors';
import type { ArmOperationRecord, ArmWorld, WorldChange } from './arm-emulator';
import { buildDeliveries, type Delivery } from './event-grid';
import { attemptDelivery, checkPolicy, deliverUntilAccepted, describeAttempt, isAccepted, SANDBOX_REDELIVERY, type AttemptResult, type RedeliveryPolicy } from './event-grid/redelivery';
import { instanceKey } from './backends-follow-arm';
import { selectorOf, type SandboxScaleSets } from './scale-set-specs';
import type { Timeline } from './timeline';

export interface EventGridFeedStats {
  readonly deliveries: number;
  readonly failedFirstAttempts: number;
  readonly redeliveries: number;
  /** Deliveries accepted only after a redelivery. */
  readonly acceptedAfterRetry: number;
  /** Deliveries given up: not retryable, or out of attempts. */
  readonly givenUp: number;
  /** Deliveries not answered yet or waiting for a redelivery (0: the feed is idle). */
  readonly unsettled: number;
}

export interface EventGridFeedOptions {
  /** The Functions host the events go to. */
  readonly hostUrl: string;
  readonly arm: ArmWorld;
  readonly scaleSets: SandboxScaleSets;
  readonly timeline: Timeline;
  /** True once another part of the sandbox has begun stopping: nothing more is delivered. */
  readonly otherPartsClosing: () => boolean;
  readonly beforeDelivery?: (operations: readonly ArmOperationRecord[]) => readonly ArmOperationRecord[];
  readonly redelivery?: RedeliveryPolicy | false;
}

export class EventGridFeed {
  /** Duplicated and reordered deliveries. */
  chaos = false;
  private stopped = false;
  private deliveries = Promise.resolve();
  private readonly redelivery: RedeliveryPolicy | false;
  private readonly retrying = new Set<Promise<unknown>>();
  private readonly stopRetries = new AbortController();
  private readonly lastOperation = new Map<string, ArmOperationRecord>();
  private readonly provisioning = new Map<string, string>();
  private seed = 1;
  private readonly counts = { deliveries: 0, failedFirstAttempts: 0, redeliveries: 0, acceptedAfterRetry: 0, givenUp: 0 };
  private queued = 0;

  constructor(private readonly options: EventGridFeedOptions) {
    this.redelivery = options.redelivery ?? SANDBOX_REDELIVERY;
    if (this.redelivery) checkPolicy(this.redelivery);
  }

  /** Delivers ARM's operations from now on: when accepted, and when their instances are done. */
  follow(): void {
    const { arm, timeline } = this.options;
    arm.on('operation', (op) => {
      const scaleSet = this.scaleSetOfOperation(op);
      if (scaleSet) this.lastOperation.set(scaleSet, op);
      timeline.note('arm-operation', `${op.operationName.replace('Microsoft.Compute/', '')} ${op.resourceUri.split('/').pop()}`);
      this.deliver([op], 'Event Grid');
    });
    arm.on('change', (change: WorldChange) => {
      if (!('instanceId' in change)) return;
      const key = instanceKey(change.scaleSetId, change.instanceId);
      const instance = this.options.scaleSets.instancesIn(change.scaleSetId).find((i) => i.instanceId === change.instanceId);
      const completed = change.kind === 'instance-removed' || (instance?.provisioningState === 'Succeeded' && this.provisioning.get(key) === 'Creating');
      if (change.kind === 'instance-removed') this.provisioning.delete(key);
      else if (instance) this.provisioning.set(key, instance.provisioningState);
      const op = this.lastOperation.get(change.scaleSetId.toLowerCase());
      if (completed && op) this.deliver([{ ...op, eventTime: new Date().toISOString() }], 'Event Grid (operation completed)');
    });
  }

  /** True once close() has begun. */
  get closed(): boolean {
    return this.stopped;
  }

  stats(): EventGridFeedStats {
    return { ...this.counts, unsettled: this.queued + this.retrying.size };
  }

  /** Lets the delivery under way end; redeliveries still waiting for their turn are dropped (an attempt in flight is aborted). */
  async close(): Promise<void> {
    this.stopped = true;
    await this.deliveries;
    this.stopRetries.abort();
    await Promise.allSettled([...this.retrying]);
  }

  private closing(): boolean {
    return this.stopped || this.options.otherPartsClosing();
  }

  private deliver(all: readonly ArmOperationRecord[], label: string): void {
    const { beforeDelivery, timeline } = this.options;
    const operations = beforeDelivery ? beforeDelivery(all) : all;
    if (this.closing() || operations.length === 0) return;
    this.queued += 1;
    this.deliveries = this.deliveries
      .then(async () => {
        if (this.closing()) return;
        const chaos = this.chaos ? { duplicateRate: 0.5, reorder: true } : {};
        const answers: string[] = [];
        for (const delivery of buildDeliveries(operations, { seed: this.seed++, maxEventsPerBatch: 10, ...chaos })) {
          const first = await this.deliverOne(delivery, label);
          this.counts.deliveries += 1;
          if (!('status' in first && isAccepted(first.status))) this.counts.failedFirstAttempts += 1;
          answers.push(describeAttempt(first).replace(/^HTTP /, ''));
        }
        timeline.note('event-delivered', `${label}: ${operations.length} event(s)${this.chaos ? ' with chaos (duplicates, reordered)' : ''} → ${answers.join(',')}`);
      })
      // One failed delivery must not stop the later ones (Event Grid keeps delivering too).
      .catch((error: unknown) => timeline.note('event-delivered', `${label}: delivery failed: ${errorMessage(error)}`))
      .finally(() => void (this.queued -= 1));
  }

  /** The first attempt's result; redeliveries (when the policy allows) go on in the background. */
  private deliverOne(delivery: Delivery, label: string): Promise<AttemptResult> {
    const { hostUrl, timeline } = this.options;
    const policy = this.redelivery;
    if (!policy) return attemptDelivery(hostUrl, delivery, 0, SANDBOX_REDELIVERY.timeoutMs);
    return new Promise<AttemptResult>((first) => {
      const whole = deliverUntilAccepted(hostUrl, delivery, {
        policy,
        signal: this.stopRetries.signal,
        onFirstAttempt: first,
        onAttempt: (attempt, result) => {
          if (attempt > 0) this.counts.redeliveries += 1;
          if (attempt > 0) timeline.note('event-delivered', `${label}: redelivery ${attempt} of ${delivery.events.length} event(s) → ${describeAttempt(result)}`);
        },
      });
      const settled = whole.then(
        (outcome) => {
          if (outcome.result === 'accepted' && outcome.attempts > 1) this.counts.acceptedAfterRetry += 1;
          if (outcome.result === 'not-retryable' || outcome.result === 'attempts-exhausted') this.counts.givenUp += 1;
          if (outcome.result !== 'accepted' && outcome.attempts > 1) timeline.note('event-delivered', `${label}: ${delivery.events.length} event(s) given up after ${outcome.attempts} attempt(s): ${outcome.result}`);
        },
        (error: unknown) => {
          first({ error: errorMessage(error) });
          timeline.note('event-delivered', `${label}: redelivery failed: ${errorMessage(error)}`);
        },
      );
      this.retrying.add(settled);
      void settled.finally(() => this.retrying.delete(settled));
    });
  }

  /** The (normalised) scale set an operation concerns; a Flexible VM's is found among the sandbox's sets. */
  private scaleSetOfOperation(op: ArmOperationRecord): string | undefined {
    const { arm, scaleSets } = this.options;
    const target = computeTargetOf(parseResourceId(op.resourceUri));
    if (target?.kind === 'scale-set') return target.ref.id;
    if (target?.kind !== 'virtual-machine') return undefined;
    const owner = scaleSets.specs.find((spec) => scaleSets.instancesIn(spec.name).some((i) => i.name.toLowerCase() === target.vmName));
    return owner ? arm.getScaleSet(selectorOf(owner.name))?.id.toLowerCase() : undefined;
  }
}
