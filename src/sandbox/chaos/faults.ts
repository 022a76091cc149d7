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
import { armedRoutes, armFaultPlan, armFaultSets, type ArmRoute } from './step-targets';
import { armInstances } from './world-view';

export interface FaultContext {
  readonly sandbox: Sandbox;
  readonly consul: ConsulDouble;
  readonly gate: EventGate;
  /** Counts the requests each armed ARM fault met (two may be armed at once in overlapped runs). */
  readonly armWatch: ArmFaultWatch;
  act(action: ChaosAction): Promise<void>;
  /**
   * Runs the timer's full sweep now (overlapped runs): a fault on the route only the sweep asks
   * (the subscription's scale sets) is met without waiting for the timer's tick.
   */
  sweep?(): Promise<void>;
}

/**
 * An armed ARM fault stays armed until a request meets it, and the reconciles it needs are
 * provoked again every ARM_FAULT_PROVOKE_MS meanwhile (a reconcile already past the route, or a
 * sweep asked for that joined a run which listed before the fault was armed, cannot meet it).
 * If none has met it after ARM_FAULT_REACH_MS, it is cleared and reported as not reached.
 */
const ARM_FAULT_REACH_MS = 15_000;
const ARM_FAULT_PROVOKE_MS = 600;
/** Once met, a fault of several answers stays armed this long for the retries of the reconciles it met. */
const ARM_FAULT_WAIT_MS = 1_200;
/** Between the deliveries of a delayed or reordered set of events (overlapped runs). */
const DELIVERY_GAP_MS = 10;
/** A Consul window that has answered no request yet stays open until one comes, at most this long. */
const CONSUL_WINDOW_MAX_MS = 3_000;
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Delivers the newest operation of each scale set (of `sets`, default all) again: a reconcile of each, now. */
async function provokeReconcile(ctx: FaultContext, sets?: readonly number[]): Promise<void> {
  const operations = ctx.sandbox.world.arm.world.operations;
  const newest: ArmOperationRecord[] = [];
  for (const [i, spec] of SANDBOX_SCALE_SETS.entries()) {
    if (sets && !sets.includes(i)) continue;
    const op = [...operations].reverse().find((o) => o.resourceUri.toLowerCase().endsWith(`/virtualmachinescalesets/${spec.name}`));
    if (op) newest.push({ ...op, eventTime: new Date().toISOString() });
  }
  if (newest.length > 0) await ctx.sandbox.world.deliver(newest, { seed: Date.now() % 1e9 }).catch(() => undefined);
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
  const matchOf = (route: ArmRoute): TrackedMatch => (ctx.sweep && route === 'vmss.get' ? { routes: [route], pathIncludes: `/${set.name}` } : { routes: armedRoutes(route) });
  // The sets whose reconcile meets the fault ('sweep': only the timer's sweep asks its route).
  const targets = armFaultSets(step, ctx.sweep !== undefined);
  /**
   * Arms a fault (`armIt`, once per route of `match`) and keeps it armed until a request met it,
   * provoking what reads its route meanwhile (a reconcile of each set it aims at, through an
   * event; for the subscription's listing, in overlapped runs, the sweep; sequential runs wait
   * for the timer's tick) every ARM_FAULT_PROVOKE_MS, at most ARM_FAULT_REACH_MS; once met, the
   * rest of its `armed` answers stay armed for the retries, at most ARM_FAULT_WAIT_MS. Then it is
   * cleared. `settling` ends when the reconciles and sweeps it provoked are over.
   */
  const armFault = async (what: string, match: TrackedMatch, armed: number, armIt: (match: { route: string; pathIncludes?: string }) => void): Promise<FaultOutcome> => {
    const watch = ctx.armWatch.track(match);
    for (const route of match.routes) armIt({ route, ...(match.pathIncludes !== undefined ? { pathIncludes: match.pathIncludes } : {}) });
    const armedAt = Date.now();
    const provocations: Array<Promise<unknown>> = [];
    let sweeping: Promise<unknown> | undefined;
    let provokedAt = 0;
    let provoked = 0;
    const provoke = () => {
      provokedAt = Date.now();
      if (targets !== 'sweep') {
        provoked += 1;
        provocations.push(provokeReconcile(ctx, targets));
      }
      // The subscription's scale sets are listed by the sweep alone; the other routes by a
      // reconcile of their set, which an event provokes (a sweep meeting a fault fails and the
      // timer's run then holds its lock through its retries). One sweep at a time.
      else if (ctx.sweep && sweeping === undefined) {
        provoked += 1;
        const run = ctx.sweep().finally(() => (sweeping = undefined));
        sweeping = run;
        provocations.push(run);
      }
    };
    provoke();
    while (watch.used() === 0 && Date.now() - armedAt < ARM_FAULT_REACH_MS) {
      await pause(20);
      if (watch.used() === 0 && Date.now() - provokedAt >= ARM_FAULT_PROVOKE_MS) provoke();
    }
    const metMs = Date.now() - armedAt;
    if (watch.used() > 0) {
      const metAt = Date.now();
      while (watch.used() < armed && Date.now() - metAt < ARM_FAULT_WAIT_MS) await pause(20);
    }
    const used = watch.used();
    watch.end();
    const left = Math.max(0, armed - used);
    const settling = Promise.all(provocations);
    if (used === 0) return { note: `${what}: NOT met by any request within ${ARM_FAULT_REACH_MS} ms (${provoked} provocation(s))`, reached: false, settling };
    return { note: `${what}: met after ${metMs} ms${provoked > 1 ? ` (${provoked} provocations)` : ''}${left ? `, ${left} of ${armed} not used` : ''}`, reached: true, settling };
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
      return armFault(`one 404 on GET ${set.name}`, { routes: ['vmss.get'], pathIncludes: `/${set.name}` }, 1, (m) => arm.fail(1, { status: 404, code: 'ResourceNotFound', message, ...m }));
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
      return armFault(`${kind} on ${route}`, { routes: [route] }, 1, (m) => arm.wrongPage(1, { kind, ...m }));
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
