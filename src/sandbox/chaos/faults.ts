/**
 * Injects one fault of the schedule and ends it: each class arms its fault, provokes the traffic
 * it needs (a reconcile, ARM operations), holds the window, and clears everything it armed, so the
 * next step starts from a world without faults. Returns one line on what happened.
 */
import type { ArmOperationRecord } from '../arm-emulator';
import type { ConsulDouble, HookReply } from '../consul-double';
import { seededRandom } from '../event-grid/seeded-random';
import { SANDBOX_SCALE_SETS, SANDBOX_RELAY_TOKEN, type Sandbox } from '../sandbox';
import type { EventGate } from './event-gate';
import { endpointSetOf, hostilePush, judgePushAnswer, openHostileXds, type HostilePushKind, type HostileXdsKind } from './hostile-clients';
import type { ChaosAction, Step } from './schedule';
import type { ArmFaultWatch, TrackedMatch } from './arm-fault-watch';
import { armFaultPlan } from './step-targets';
import { armInstances } from './world-view';

export interface FaultContext {
  readonly sandbox: Sandbox;
  readonly consul: ConsulDouble;
  readonly gate: EventGate;
  /** Counts the requests each armed ARM fault met (two may be armed at once in overlapped runs). */
  readonly armWatch: ArmFaultWatch;
  act(action: ChaosAction): Promise<void>;
  /**
   * Runs the timer's full sweep now (overlapped runs): an ARM fault then also meets the routes
   * only the sweep asks (the subscription's scale sets, …) without waiting for the timer's tick.
   */
  sweep?(): Promise<void>;
}

/** How long an armed ARM fault waits for a request to meet it (each provokes a reconcile of every set). */
const ARM_FAULT_WAIT_MS = 1_200;
/** Between the deliveries of a delayed or reordered set of events (overlapped runs). */
const DELIVERY_GAP_MS = 10;
/** A Consul window that has answered no request yet stays open until one comes, at most this long. */
const CONSUL_WINDOW_MAX_MS = 3_000;
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Delivers the newest operation of each scale set again: a reconcile of every set, now. */
async function provokeReconcile(ctx: FaultContext): Promise<void> {
  const operations = ctx.sandbox.world.arm.world.operations;
  const newest: ArmOperationRecord[] = [];
  for (const spec of SANDBOX_SCALE_SETS) {
    const op = [...operations].reverse().find((o) => o.resourceUri.toLowerCase().endsWith(`/virtualmachinescalesets/${spec.name}`));
    if (op) newest.push({ ...op, eventTime: new Date().toISOString() });
  }
  await ctx.sandbox.world.deliver(newest, { seed: Date.now() % 1e9 }).catch(() => undefined);
}

/**
 * What a fault did: one line for the log, whether it reached what it aims at (an ARM or Consul
 * request it answered, an event it held, a relay connection), and a problem when the system's
 * answer to it was wrong (a hostile push not refused as it must be).
 */
export interface FaultOutcome {
  readonly note: string;
  readonly reached: boolean;
  readonly problem?: string;
  /** ARM faults: the reconcile(s) the fault provoked, which may still be held by it (a hang, Retry-After). */
  readonly settling?: Promise<unknown>;
  /** ARM faults: until the fault is cleared (overlapped runs go on before, once it met a request). */
  readonly armedUntil?: Promise<unknown>;
}

/** A scale of the action's set (or the first) by one instance, up or down: an ARM change that sends events. */
function nudge(ctx: FaultContext, action: ChaosAction | undefined): ChaosAction {
  const set = action?.kind === 'scale' ? action.set : 0;
  const service = SANDBOX_SCALE_SETS[set]!.service;
  const capacity = armInstances(ctx.sandbox).filter((v) => v.service === service && v.instance.provisioningState !== 'Deleting').length;
  return { kind: 'scale', set, capacity: capacity >= 3 ? capacity - 1 : capacity + 1 };
}

export async function injectFault(ctx: FaultContext, step: Extract<Step, { kind: 'fault' }>): Promise<FaultOutcome> {
  const random = seededRandom(step.seed);
  const arm = ctx.sandbox.world.arm.faults;
  const set = SANDBOX_SCALE_SETS[Math.floor(step.pick * SANDBOX_SCALE_SETS.length)]!;
  const consulState = ctx.consul.state;
  // Overlapped runs scope a fault on a scale set's GET to the picked set (step-targets.ts).
  const matchOf = (route: string): TrackedMatch => (ctx.sweep && route === 'vmss.get' ? { route, pathIncludes: `/${set.name}` } : { route });
  /**
   * Arms a fault (`armIt`, with `match`), provokes a reconcile of every set (and, in overlapped
   * runs, the sweep), and waits until the fault's `armed` takes are used up, at most
   * ARM_FAULT_WAIT_MS; then it is cleared. (Overlapped runs used to clear it once the provoked
   * reconciles were over; with ARM faults back to back, a set's reconciles are busy for long, a
   * delivery is acknowledged as queued at once and the sweep asked for joins a run that listed
   * ARM before the fault was armed: half the faults were cleared before any request met them.)
   */
  const armFault = async (what: string, match: TrackedMatch, armed: number, armIt: (match: TrackedMatch) => void): Promise<FaultOutcome> => {
    const watch = ctx.armWatch.track(match);
    armIt(match);
    const provocations = Promise.all([provokeReconcile(ctx), ctx.sweep?.()]);
    const deadline = Date.now() + ARM_FAULT_WAIT_MS;
    const armedFor = (async () => {
      while (watch.used() < armed && Date.now() < deadline) await pause(20);
      const left = Math.max(0, armed - watch.used());
      watch.end();
      return left;
    })();
    const settling = Promise.all([provocations, armedFor]);
    if (ctx.sweep) {
      // Overlapped runs go on once the fault met a request; the rest stays armed for the retries
      // until the reconciles end (at most ARM_FAULT_WAIT_MS), and the fault holds its set meanwhile (`settling`).
      while (watch.used() === 0 && Date.now() < deadline) await pause(20);
      const used = watch.used();
      if (used > 0 && used < armed) return { note: `${what} (met ${used} request(s) by the time the batch went on; armed until its reconciles end)`, reached: true, settling, armedUntil: armedFor };
    }
    const left = await armedFor;
    return { note: `${what}${left ? ` (${left} of ${armed} not reached)` : ''}`, reached: left < armed, settling, armedUntil: armedFor };
  };
  // Open for the step's window, and on until the hook has answered a request (the window is
  // short and the reconcile it provokes may not have asked Consul yet), at most CONSUL_WINDOW_MAX_MS.
  const consulWindow = async (what: string, reply: () => HookReply | { drop: true } | Promise<undefined>): Promise<FaultOutcome> => {
    let answered = 0;
    const opened = Date.now();
    consulState.setBeforeRequest(() => {
      answered += 1;
      return reply();
    });
    void provokeReconcile(ctx);
    await pause(step.windowMs);
    while (answered === 0 && Date.now() - opened < CONSUL_WINDOW_MAX_MS) await pause(10);
    consulState.setBeforeRequest(undefined);
    return { note: `${what} for ${Date.now() - opened} ms (${answered} request(s) answered)`, reached: answered > 0 };
  };
  switch (step.faultClass) {
    case 'arm-404': {
      const message = `The Resource 'Microsoft.Compute/virtualMachineScaleSets/${set.name}' under resource group was not found.`;
      return armFault(`one 404 on GET ${set.name}`, { route: 'vmss.get', pathIncludes: `/${set.name}` }, 1, (m) => arm.fail(1, { status: 404, code: 'ResourceNotFound', message, ...m }));
    }
    case 'arm-429': {
      const { route } = armFaultPlan(step);
      return armFault(`${step.count} × 429 on ${route}`, matchOf(route), step.count, (m) => arm.throttle(step.count, { retryAfterSeconds: 1, ...m }));
    }
    case 'arm-500': {
      const { route } = armFaultPlan(step);
      return armFault(`${step.count} × 500 on ${route}`, matchOf(route), step.count, (m) => arm.fail(step.count, m));
    }
    case 'arm-slow': {
      const { route, delayMs = 200 } = armFaultPlan(step);
      return armFault(`${step.count} slow answer(s) on ${route}`, matchOf(route), step.count, (m) => arm.delay(step.count, { delayMs, ...m }));
    }
    case 'arm-hung': {
      const { route } = armFaultPlan(step);
      return armFault(`a 5 s hang on ${route}`, matchOf(route), 1, (m) => arm.delay(1, { delayMs: 5_000, ...m }));
    }
    case 'arm-wrong-page': {
      const { route, pageFault: kind = 'empty-page' } = armFaultPlan(step);
      return armFault(`${kind} on ${route}`, { route }, 1, (m) => arm.wrongPage(1, { kind, ...m }));
    }
    case 'consul-down':
      return consulWindow('Consul down (connections dropped)', () => ({ drop: true }));
    case 'consul-slow': {
      const delay = 200 + random.int(1_300);
      return consulWindow(`Consul slow (${delay} ms per request)`, () => pause(delay).then(() => undefined));
    }
    case 'consul-500':
      return consulWindow('Consul 500', () => ({ status: 500, body: 'rpc error making call: No cluster leader' }));
    case 'consul-429':
      return consulWindow('Consul 429', () => ({ status: 429, body: 'Your IP is issuing too many concurrent connections, please rate limit your calls' }));
    case 'consul-lost-after-commit': {
      let left = step.count;
      consulState.setAfterWrite(() => (left-- > 0 ? { drop: true } : undefined));
      // Overlapped runs stop waiting once the reconciles provoked are over (and the window passed): what had to write has written.
      let provoked = false;
      void provokeReconcile(ctx).then(() => (provoked = ctx.sweep !== undefined));
      const opened = Date.now();
      const deadline = opened + Math.max(2_000, step.windowMs);
      while (left > 0 && Date.now() < deadline && !(provoked && Date.now() - opened >= step.windowMs)) await pause(20);
      consulState.setAfterWrite(undefined);
      const dropped = step.count - Math.max(0, left);
      return { note: `${dropped} of ${step.count} committed write(s) answered by a dropped connection`, reached: dropped > 0 };
    }
    case 'relay-restart':
      await ctx.sandbox.restartRelay();
      return { note: 'relay restarted', reached: true };
    case 'event-duplicate':
    case 'event-loss':
    case 'event-delay':
    case 'event-reorder': {
      // The fault acts on the events of its action's scale set (the gate has a mode per set).
      const eventSet = step.action?.kind === 'scale' ? step.action.set : 0;
      ctx.gate.start(eventSet, step.faultClass === 'event-duplicate' ? 'duplicate' : step.faultClass === 'event-loss' ? 'drop' : 'hold');
      const affectedBefore = ctx.gate.affected(eventSet);
      if (step.action) await ctx.act(step.action);
      // An action that changed nothing (capacity already there) sends no event: change the set by one.
      if (ctx.gate.affected(eventSet) === affectedBefore) await ctx.act(nudge(ctx, step.action));
      await pause(step.windowMs);
      const affected = ctx.gate.affected(eventSet) - affectedBefore;
      const held = ctx.gate.release(eventSet);
      // Overlapped runs: what was lost is repaired by the timer's sweep, run now instead of at its
      // next tick (after the run in progress, which may have listed ARM before the change).
      if (step.faultClass === 'event-loss' && ctx.sweep) void ctx.sweep().then(ctx.sweep);
      /**
       * Overlapped runs: one delivery per event, each sent DELIVERY_GAP_MS after the one before
       * without waiting for its answer (Event Grid's deliveries are concurrent too), so they
       * arrive in the order given and race in the app. One after the other, each waited for a
       * reconcile of its own (0.2-0.5 s): 1-3 s a fault, on the events lanes' path.
       */
      const deliverApart = (operations: readonly ArmOperationRecord[]) =>
        Promise.all(operations.map((op, i) => pause(i * DELIVERY_GAP_MS).then(() => ctx.sandbox.world.deliver([op], { seed: step.seed + i }).catch(() => undefined))));
      if (step.faultClass === 'event-delay') {
        await pause(step.windowMs);
        await (ctx.sweep ? deliverApart(held) : ctx.sandbox.world.deliver(held, { seed: step.seed }).catch(() => undefined));
      } else if (step.faultClass === 'event-reorder') {
        // Newest first, with an old operation replayed among them.
        const old = ctx.sandbox.world.arm.world.operations.filter((o) => ctx.gate.setOf(o) === eventSet);
        const replay = old.length > 0 ? [old[random.int(old.length)]!] : [];
        const reversed = [...held, ...replay].reverse();
        if (ctx.sweep) {
          // The same as one delivery with reorder and duplicateRate 0.3 below, sent apart.
          const events = reversed.flatMap((op) => (random.next() < 0.3 ? [op, op] : [op]));
          await deliverApart(random.shuffle(events));
        } else await ctx.sandbox.world.deliver(reversed, { seed: step.seed, reorder: true, duplicateRate: 0.3 }).catch(() => undefined);
      }
      return { note: `${step.faultClass.slice(6)} of the events of ${JSON.stringify(step.action)}: ${affected} operation(s)${held.length ? ` (${held.length} held)` : ''}`, reached: affected > 0 };
    }
    case 'xds-huge-node':
    case 'xds-never-reading':
    case 'xds-nack-loop':
    case 'xds-unknown-types': {
      const close = openHostileXds(ctx.sandbox.relay().xdsAddress, step.faultClass.slice(4) as HostileXdsKind, random, SANDBOX_SCALE_SETS.map((s) => s.service));
      await pause(step.windowMs);
      close();
      return { note: `${step.faultClass.slice(4)} client for ${step.windowMs} ms`, reached: true };
    }
    case 'push-bad-token':
    case 'push-inflated-index':
    case 'push-garbage-payload': {
      const kind = step.faultClass.slice(5) as HostilePushKind;
      // Inflated: far more than the relay's bound (1000) ahead of Consul, which cannot confirm it.
      const index = consulState.index + (kind === 'inflated-index' ? 1_000_000_000 : 0);
      const pushed = endpointSetOf(set.service, set.port, armInstances(ctx.sandbox), index);
      const answer = await hostilePush(ctx.sandbox.relay().xdsAddress, SANDBOX_RELAY_TOKEN, kind, random, pushed);
      // A change right after: a relay that trusted the push must still follow it.
      await ctx.act({ kind: 'scale', set: SANDBOX_SCALE_SETS.indexOf(set), capacity: armInstances(ctx.sandbox).filter((v) => v.service === set.service && v.instance.provisioningState !== 'Deleting').length === 1 ? 2 : 1 });
      const problem = judgePushAnswer(kind, answer);
      return { note: `${kind} push of ${set.service}: ${answer.text}`, reached: answer.status !== 'UNAVAILABLE' && answer.status !== 'DEADLINE_EXCEEDED', ...(problem ? { problem } : {}) };
    }
  }
}
