/**
 * The chaos soak: the sandbox's world (ARM emulator, Consul double, the Functions app in the
 * local host, the relay), a proxyless gRPC client per service and an Envoy-profile wire client,
 * a seeded schedule of faults of every class interleaved with real ARM actions, and after every
 * step the invariants: no wrongful removal, no passing instance of ARM's turned critical or
 * drained, no zombie registration, no failed call to a live instance, no write to what the mesh
 * does not own (all watched continuously), convergence to ARM within the bound once the fault
 * ends (through events: the timer's full reconcile runs only every 10 s), each fault class
 * reaching what it aims at, the process's heap within its headroom over the warmed-up baseline.
 */
import { connect } from 'node:net';
import { startConsulDouble } from '../consul-double';
import { SANDBOX_SCALE_SETS, startSandbox, type Sandbox } from '../sandbox';
import { SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION } from '../local-world';
import { ArmHistory } from './arm-history';
import { ConsulObserver, foreignChanges, foreignView } from './consul-observer';
import { EventGate, operationSetByName } from './event-gate';
import { injectFault, type FaultContext, type FaultOutcome } from './faults';
import { seedForeignEntries, seedForeignOnMeshNode } from './foreign-seed';
import { GatewayClient } from './gateway-client';
import { ArmFaultWatch } from './arm-fault-watch';
import { BatchPlanner, holds } from './batches';
import { ACTION_ROW, emptyRow, type ChaosReport, type ClassRow, type CountField } from './report';
import { buildSchedule, FAULT_CLASSES, type ChaosAction, type FaultClass, type Step } from './schedule';
import { describeWindow, NoEndpointLog } from './no-endpoint';
import { adsBackoffFix } from '../traffic/grpc-js-xds-workarounds';
import { TrafficProbe, type ProbeCall } from './traffic-probe';
import { TimingLog } from './timing';
import { armFaultKey, armFaultSets, changedSet } from './step-targets';
import { armInstances, differences, expectedState, relayView } from './world-view';
import { EXTERNAL_SOURCE, NODE_META } from '../../shared/ownership';
import type { RedeliveryPolicy } from '../event-grid/redelivery';

export interface ChaosOptions {
  readonly seed: number;
  readonly faults: number;
  /** Stop injecting after this long (the run then checks the end state). */
  readonly maxMs?: number;
  /** Each change must converge within this after its fault ends (default 15 s). */
  readonly convergenceBoundMs?: number;
  /** Heap the process (relay included) may grow by over its baseline after warm-up (default 256 MB). */
  readonly memoryHeadroomMb?: number;
  readonly classes?: readonly FaultClass[];
  /**
   * Run faults of independent classes at the same time (the short mode): the schedule's steps in
   * batches (batches.ts), each batch injected at once and then judged like one step; ARM faults
   * and health changes run the timer's sweep at once instead of waiting for its tick. What happens
   * during a batch counts in the row of every class in it (the total counts it once).
   */
  readonly overlap?: boolean;
  /** Period of the reconcile timer in seconds (default 10). */
  readonly timerSeconds?: number;
  /** Event Grid's redelivery of failed deliveries in the sandbox (default the sandbox's: 0.5 s, 1.5 s, 3 s, …); false = none. */
  readonly eventGridRedelivery?: RedeliveryPolicy | false;
  readonly log?: (line: string) => void;
}

/** Does anything accept a TCP connection at ip:port (within 500 ms)? */
function tcpProbe(ip: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: ip, port });
    const done = (r: string) => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(500, () => done('timeout'));
    socket.once('connect', () => done('open'));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const MAX_PROBLEMS = 40;
/** How long the world must stay equal to ARM to count as converged. */
const STABLE_MS = 200;
/**
 * The sandbox's timer period (10 s): far longer than STABLE_MS, so a stale write of the event
 * path is seen before a full reconcile undoes it, and within the convergence bound, so a lost
 * event still converges.
 */
export const DEFAULT_TIMER_SECONDS = 10;
const TIMER_FUNCTION = 'reconcileTimer';
/**
 * Longest a sweep the soak asks for is waited for: a sweep meeting a 5 s ARM hang takes about
 * 5-6 s; longer means the timer's run is waiting to retry (10 s and more).
 */
const SWEEP_WAIT_MS = 8_000;
/** A label of what is running now: one class, or the classes of a batch joined by ' + '. */
const JOIN = ' + ';
export const classesOf = (label: string): string[] => label.split(JOIN);
export const DEFAULT_HEAP_HEADROOM_MB = 256;
const SERVICES = SANDBOX_SCALE_SETS.map((s) => s.service);

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const began = Date.now();
  const log = options.log ?? (() => undefined);
  const bound = options.convergenceBoundMs ?? 15_000;
  const schedule = buildSchedule({ seed: options.seed, faults: options.faults, ...(options.classes ? { classes: options.classes } : {}), scaleSets: SANDBOX_SCALE_SETS.length, maxCapacity: 5 });
  const rows = new Map<string, ClassRow>([...(options.classes ?? FAULT_CLASSES), ACTION_ROW].map((c) => [c, emptyRow(c)]));
  const row = (c: string) => rows.get(c) ?? rows.set(c, emptyRow(c)).get(c)!;
  // Counted once per thing that happened, whatever number of classes was running then.
  const total = emptyRow('total');
  /** Adds one to `field` in the row of each class of `label`, and once to the total. */
  const blame = (label: string, field: CountField) => {
    for (const c of classesOf(label)) row(c)[field] += 1;
    total[field] += 1;
  };
  const timerSeconds = options.timerSeconds ?? DEFAULT_TIMER_SECONDS;
  if (!Number.isInteger(timerSeconds) || timerSeconds < 1 || timerSeconds > 59 || 60 % timerSeconds !== 0) throw new TypeError(`the timer period must divide a minute in whole seconds, got ${timerSeconds}`);
  const phases: string[] = [];
  let phaseStart = began;
  const phase = (name: string) => {
    const now = Date.now();
    phases.push(`${name} ${((now - phaseStart) / 1000).toFixed(1)} s`);
    log(`phase: ${name} took ${now - phaseStart} ms`);
    phaseStart = now;
  };
  const problems: string[] = [];
  const problem = (line: string) => void (problems.length < MAX_PROBLEMS ? problems.push(line) : undefined);
  let current = 'start';
  let stepLabel = 'start';

  let result: ChaosReport;
  const consul = await startConsulDouble();
  const cleanups: Array<() => Promise<void> | void> = [() => consul.close()];
  let sandbox: Sandbox | undefined;
  try {
    await seedForeignEntries(consul, `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${SANDBOX_RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachineScaleSets/orders`);
    const gate = new EventGate(operationSetByName(SANDBOX_SCALE_SETS.map((s) => s.name)));
    sandbox = await startSandbox({
      azurite: false,
      useFuncBinary: false,
      consulDouble: consul,
      traffic: false,
      beforeDelivery: gate.filter,
      ...(options.eventGridRedelivery !== undefined ? { eventGridRedelivery: options.eventGridRedelivery } : {}),
      // Overlapped runs: ARM's instance operations take less time (the same states, each held shorter).
      createDelayMs: options.overlap ? 100 : 300,
      drainMs: options.overlap ? 400 : 1000,
      timerSchedule: `*/${timerSeconds} * * * * *`,
      hostPort: 0,
      relayPort: 0,
      relayAdminPort: 0,
      refreshMs: 2000,
      log,
    });
    const box = sandbox;
    phase('start-up');
    cleanups.push(() => box.close());
    const arm = box.world.arm.world;

    // When each address last stopped being live (failed, draining, gone): calls to it after are not judged.
    const disturbed = new Map<string, number>();
    const known = new Map<string, string>();
    // Since when each address has been live (running and healthy in ARM) without a break.
    const liveSince = new Map<string, number>();
    // The same by instance, for the Consul observer (it matches nodes by their instance meta).
    const history = new ArmHistory();
    const followArm = () => {
      const now = Date.now();
      history.follow(armInstances(box), now);
      const seen = new Set<string>();
      for (const { instance, ip } of armInstances(box)) {
        seen.add(ip);
        known.set(ip, instance.name);
        if (expectedState(instance) !== 'passing') {
          disturbed.set(ip, now);
          liveSince.delete(ip);
        } else if (!liveSince.has(ip)) liveSince.set(ip, now);
      }
      for (const ip of known.keys()) {
        if (!seen.has(ip)) {
          disturbed.set(ip, now);
          liveSince.delete(ip);
        }
      }
    };
    followArm();
    arm.on('change', followArm);
    let soakOrigin = Date.now();
    const noEndpoints = new NoEndpointLog(bound, (w) => {
      log(`  ${describeWindow(w, soakOrigin)}`);
      if (w.judgedCalls > 0) {
        const [error] = [...w.errors].sort((a, b) => b[1] - a[1])[0] ?? [''];
        problem(`[${w.step}] ${w.service} reached no instance for ${w.endedAt - w.startedAt} ms (${w.judgedCalls} of ${w.calls} calls while ARM had an instance live for over ${bound} ms, the longest ${w.maxLiveForMs} ms): ${error.slice(0, 160)}`);
      }
    });
    const judge = (call: ProbeCall) => {
      if (call.peer) noEndpoints.reached(call);
      if (!call.error) return;
      if (!call.peer) {
        const now = Date.now();
        const liveForMs = armInstances(box)
          .filter((v) => v.service === call.service && expectedState(v.instance) === 'passing')
          .map((v) => now - (liveSince.get(v.ip) ?? now));
        const relay = relayView(box, 'proxyless-grpc')(call.service);
        const { judged, opened } = noEndpoints.record(call, { liveForMs, ...(relay ? { relay } : {}), faultClass: current, step: stepLabel });
        blame(current, 'failedNoEndpoint');
        if (judged) blame(current, 'noEndpointWhileLive');
        // What ARM, the relay and the instances' ports said when the service became unreachable (verbose log).
        if (opened && options.log) {
          const arms = armInstances(box)
            .filter((v) => v.service === call.service)
            .map((v) => `${v.instance.name}@${v.ip} ${v.instance.provisioningState}/${v.instance.powerState}/${v.instance.health ?? '-'} live ${liveSince.has(v.ip) ? now - liveSince.get(v.ip)! : '-'} ms`);
          const served = [...(relay ?? new Map<string, string>())].map(([ip, h]) => `${ip}=${h}`);
          const port = SANDBOX_SCALE_SETS.find((s) => s.service === call.service)!.port;
          void Promise.all([...(relay ?? new Map<string, string>()).keys()].map((ip) => tcpProbe(ip, port).then((r) => `${ip}:${r}`))).then((tcp) =>
            log(`    ${call.service} reaches no instance from ${((call.startedAt - soakOrigin) / 1000).toFixed(2)} s (${call.error?.slice(0, 90)}): ARM [${arms.join('; ')}] relay [${served.join(', ')}] tcp [${tcp.join(', ')}]`),
          );
        }
        return;
      }
      const found = armInstances(box).find((v) => v.ip === call.peer);
      const live = found && expectedState(found.instance) === 'passing' && (disturbed.get(call.peer) ?? 0) < call.startedAt - 1_000;
      if (!live) return void blame(current, 'failedToNotLive');
      blame(current, 'failedToLive');
      problem(`[${stepLabel}] call to live ${found.instance.name} (${call.peer}) failed: ${call.error}`);
    };

    const views = () => ({ 'relay (proxyless)': relayView(box, 'proxyless-grpc'), 'relay (envoy)': relayView(box, 'envoy-gateway'), gateway: gateway.view });
    const stuck = new Set<string>();
    /**
     * Converged = no difference from ARM, and still none `STABLE_MS` later (a reconcile that met the
     * fault may still be writing when the fault is cleared). `ms` is from the call to the start of
     * that quiet stretch.
     */
    /**
     * Nothing can still write (so the STABLE_MS wait can end early): the local host has no request,
     * invocation or timer run in flight (a run waiting to retry included) and no reconcile left
     * running past a delivery's deadline, the Event Grid feed and the gate hold nothing, no ARM
     * operation is under way, and no fault or sweep of the soak is pending. False when the host
     * cannot tell (func start): the fixed wait stays.
     */
    let pendingWork = () => false;
    const nothingCanWrite = () =>
      box.functionsInFlight() === 0 && box.eventGridStats().unsettled === 0 && gate.idle && !pendingWork() && !armInstances(box).some((v) => v.instance.provisioningState !== 'Succeeded');
    const converge = async (deadlineMs: number): Promise<{ ms: number; left: string[] }> => {
      const start = Date.now();
      let quietSince: number | undefined;
      for (;;) {
        const left = [...differences(box, consul.state.snapshot(), views()), ...gateway.inconsistencies()].filter((p) => !stuck.has(p));
        const now = Date.now();
        if (left.length > 0) quietSince = undefined;
        else quietSince ??= now;
        if (quietSince !== undefined && (now - quietSince >= STABLE_MS || nothingCanWrite())) return { ms: quietSince - start, left };
        if (now - start > deadlineMs) return { ms: now - start, left };
        await pause(25);
      }
    };

    const gateway = new GatewayClient(box.relay().xdsAddress, SERVICES);
    cleanups.push(() => gateway.close());
    const initial = await converge(60_000);
    phase('first convergence');
    if (initial.left.length) throw new Error(`the sandbox did not reach ARM's state at start: ${initial.left.join('; ')}`);
    // Someone else's service and check on one of our orders nodes: kept, and the node released (not deleted) at scale-in.
    const ordersId = `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourcegroups/${SANDBOX_RESOURCE_GROUP}/providers/microsoft.compute/virtualmachinescalesets/orders`.toLowerCase();
    const sharedNode = consul.state
      .snapshot()
      .nodes.filter((n) => n.meta[NODE_META.externalSource] === EXTERNAL_SOURCE && n.meta[NODE_META.scaleSetId] === ordersId)
      .map((n) => n.node)
      .sort()[0];
    if (!sharedNode) throw new Error('no orders node in Consul to put foreign entries on');
    await seedForeignOnMeshNode(consul, sharedNode);
    const foreignAtStart = foreignView(consul.state.snapshot());
    const afterSeed = await converge(bound);
    if (afterSeed.left.length) throw new Error(`the sandbox did not stay at ARM's state after foreign entries were added to ${sharedNode}: ${afterSeed.left.join('; ')}`);
    const probe = new TrafficProbe(box.relay().xdsAddress, SERVICES, { pauseMs: 10, deadlineMs: 10_000, onCall: judge });
    cleanups.push(() => probe.close());
    await probe.warmUp(30_000);
    phase('warm-up');
    const baselineHeap = process.memoryUsage().heapUsed;
    const limitMb = Math.round(baselineHeap / 2 ** 20) + (options.memoryHeadroomMb ?? DEFAULT_HEAP_HEADROOM_MB);
    const probeStart = Date.now();
    probe.start();
    cleanups.push(() => probe.stop());

    const observer = new ConsulObserver(consul.state, {
      armInstance: (id) => {
        history.follow(armInstances(box), Date.now());
        return history.state(id);
      },
      currentClass: () => current,
    });
    cleanups.push(() => observer.close());
    let maxHeap = 0;
    let maxRss = 0;
    const sample = () => {
      const m = process.memoryUsage();
      maxHeap = Math.max(maxHeap, m.heapUsed);
      maxRss = Math.max(maxRss, m.rss);
    };
    const sampler = setInterval(sample, 200);
    cleanups.push(() => clearInterval(sampler));

    const act = async (action: ChaosAction) => {
      if (action.kind === 'scale') {
        const spec = SANDBOX_SCALE_SETS[action.set]!;
        await box.act({ action: 'scale', scaleSet: spec.name, capacity: action.capacity });
        return;
      }
      // Fail only where two healthy instances remain; heal a failed one. Candidates sorted by name.
      const all = armInstances(box).filter((v) => v.instance.provisioningState === 'Succeeded');
      const candidates = all
        .filter((v) => (action.kind === 'fail' ? v.instance.health !== 'Unhealthy' && all.filter((o) => o.service === v.service && o.instance.health !== 'Unhealthy').length > 2 : v.instance.health === 'Unhealthy'))
        .sort((a, b) => (a.instance.name < b.instance.name ? -1 : 1));
      const target = candidates[Math.floor(action.pick * candidates.length)];
      if (target) await box.act({ action: action.kind, instance: target.instance.name });
    };
    // A sweep asked for while the timer's run waits between its retries (its retry policy: 10 s,
    // 20 s, …, the lock held meanwhile) joins that run. Faults wait for it at most SWEEP_WAIT_MS,
    // so an ARM fault does not hold its set's scale changes (event path) through the delay; a
    // health change or a lost event, which only a sweep repairs, waits until such a run is over
    // (`stuckSweeps`): the timer's ticks are skipped until then.
    const stuckSweeps = new Set<Promise<unknown>>();
    const sweep = async () => {
      const asked = Date.now();
      const run = box.world.host.invoke(TIMER_FUNCTION).catch((error: unknown) => log(`sweep: ${error instanceof Error ? error.message : String(error)}`));
      const timedOut = await Promise.race([run.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), SWEEP_WAIT_MS).unref())]);
      void run.then(() => timing.sweep(Date.now() - asked, timedOut));
      if (timedOut) {
        log(`  sweep asked at ${((asked - soakOrigin) / 1000).toFixed(2)} s joined a timer run waiting to retry (not over within ${SWEEP_WAIT_MS} ms)`);
        stuckSweeps.add(run);
        void run.then(() => stuckSweeps.delete(run));
      }
    };
    pendingWork = () => held.size + background.size + armedNow.size + stuckSweeps.size > 0;
    const ctx: FaultContext = { sandbox: box, consul, gate, act, armWatch: new ArmFaultWatch(box.world.arm.faults), ...(options.overlap ? { sweep } : {}) };
    const soakStart = Date.now();
    soakOrigin = soakStart;
    let injected = 0;
    let actions = 0;
    const counts = () => ({ removals: observer.removals.length, flips: observer.flips.length, zombies: observer.zombies.length, writes: observer.unownedWrites.length });
    // One unit = one step (sequential) or one batch (overlapped): injected at once, then judged.
    const numbers = new Map(schedule.map((step, n) => [step, n]));
    const planner = options.overlap ? new BatchPlanner(schedule) : undefined;
    // Reconciles still held by an ARM fault (overlapped runs), with the scale sets the fault meets.
    const held = new Map<Promise<unknown>, readonly number[] | 'sweep'>();
    // ARM faults waiting for their request in the background, with their class.
    const background = new Map<Promise<FaultOutcome>, FaultClass>();
    // ARM faults still armed (for the retries of the reconciles they met), with what they arm (armFaultKey).
    const armedNow = new Map<Promise<unknown>, string>();
    // A set with instances being created or deleted has reconciles to come (the operation's completion): an ARM fault on it would hold them.
    const transitional = (set: number) => armInstances(box).some((v) => v.service === SANDBOX_SCALE_SETS[set]!.service && v.instance.provisioningState !== 'Succeeded');
    /** Why a lane's head cannot start now, or undefined when it can. */
    const blockReason = (step: Step): string | undefined => {
      if ([...held.values()].some((sets) => holds(sets, changedSet(step)))) return 'set held by an ARM fault';
      // What only a sweep repairs (a health change, a lost event) waits while the timer's run waits to retry.
      if (stuckSweeps.size > 0 && (changedSet(step) === 'health' || (step.kind === 'fault' && step.faultClass === 'event-loss'))) return 'stuck sweep';
      const sets = armFaultSets(step, true);
      if (sets === undefined) return undefined;
      // One ARM fault per route (and set) armed at a time (the one before may still be armed for its retries).
      if ([...armedNow.values()].includes(armFaultKey(step)!)) return 'ARM fault still armed';
      return sets !== 'sweep' && sets.some(transitional) ? 'set in transition' : undefined;
    };
    const timing = new TimingLog();
    const headName = (step: Step) => (step.kind === 'fault' ? step.faultClass : step.action.kind);
    let next = 0;
    const nextUnit = async (): Promise<Array<{ step: Step; n: number }> | undefined> => {
      if (!planner) return next < schedule.length ? [{ step: schedule[next]!, n: next++ }] : undefined;
      while (!planner.done) {
        const heldBack: string[] = [];
        const batch = planner.next((step) => {
          const reason = blockReason(step);
          if (reason) heldBack.push(`${headName(step)}: ${reason}`);
          return reason !== undefined;
        });
        timing.heldBack(heldBack);
        if (batch.length > 0) return batch.map((step) => ({ step, n: numbers.get(step)! }));
        const idleFrom = Date.now();
        await Promise.race([...held.keys(), ...armedNow.keys(), ...stuckSweeps, pause(1_000)]);
        timing.idle(Date.now() - idleFrom);
      }
      return undefined;
    };
    const run = async ({ step, n }: { step: Step; n: number }): Promise<string> => {
      if (step.kind === 'action') {
        await act(step.action);
        // A health change reaches the mesh through the timer's sweep alone: run it now instead of waiting
        // for the tick (after the sweep in progress, if any: it may have read the instance before).
        if (options.overlap && step.action.kind !== 'scale') void sweep().then(sweep);
        actions += 1;
        row(ACTION_ROW).injected += 1;
        return JSON.stringify(step.action);
      }
      const label = `step ${n} fault #${step.index} ${step.faultClass}`;
      const injecting = injectFault(ctx, step);
      const sets = armFaultSets(step, true);
      if (options.overlap && sets) {
        // Armed now (injectFault arms before its first wait); it holds its set until its reconciles
        // end and its set's next ARM fault until it is cleared. It waits for its request in the
        // background: the batch goes on, and its class counts as running until it is over.
        const armedAt = Date.now();
        const settled = injecting.then((o) => o.settling).catch(() => undefined);
        held.set(settled, sets);
        void settled.then(() => {
          held.delete(settled);
          timing.hold(step.faultClass, Date.now() - armedAt);
        });
        // injectFault returns once the fault is cleared (met and used up, or its deadline passed).
        const cleared = injecting.catch(() => undefined);
        armedNow.set(cleared, armFaultKey(step)!);
        void cleared.then(() => armedNow.delete(cleared));
        background.set(injecting, step.faultClass);
        // A failure of the injection itself stays in `background`: the wait for it at the end rethrows it.
        void injecting.then((outcome) => {
          background.delete(injecting);
          account(step, label, outcome);
          log(`  ${label} (in the background): ${outcome.note}`);
        }, () => undefined);
        return `${step.faultClass}: armed, waits for its request in the background`;
      }
      const outcome = await injecting;
      account(step, label, outcome);
      return outcome.note;
    };
    const account = (step: Extract<Step, { kind: 'fault' }>, label: string, outcome: FaultOutcome) => {
      injected += 1;
      row(step.faultClass).injected += 1;
      total.injected += 1;
      if (outcome.reached) {
        row(step.faultClass).reached += 1;
        total.reached += 1;
      }
      if (outcome.problem) {
        row(step.faultClass).wrongAnswers += 1;
        total.wrongAnswers += 1;
        problem(`[${label}] ${outcome.problem}`);
      }
    };
    for (let u = 0; ; u += 1) {
      if (options.maxMs !== undefined && Date.now() - soakStart > options.maxMs) break;
      const unit = await nextUnit();
      if (!unit) break;
      const before = counts();
      const stepStart = Date.now();
      const classes = unit.map(({ step }) => (step.kind === 'fault' ? step.faultClass : ACTION_ROW));
      current = [...new Set([...classes, ...background.values()])].join(JOIN);
      const names = unit.map(({ step, n }) => (step.kind === 'fault' ? `step ${n} fault #${step.index} ${step.faultClass}` : `step ${n} action ${JSON.stringify(step.action)}`));
      stepLabel = options.overlap ? `batch ${u} (${names.join(', ')})` : names[0]!;
      const timed = async (member: { step: Step; n: number }) => {
        const started = Date.now();
        const note = await run(member);
        return unit.length > 1 ? `${note} [${Date.now() - started} ms]` : note;
      };
      const note = (await Promise.all(unit.map(timed))).join('; ');
      const injectedMs = Date.now() - stepStart;
      // Faults still waiting in the background ran during this batch too.
      current = [...new Set([...classesOf(current), ...background.values()])].join(JOIN);
      const convergeFrom = Date.now();
      const { ms, left } = await converge(bound);
      timing.unit(injectedMs, Date.now() - convergeFrom, classesOf(current));
      for (const c of classesOf(current)) row(c).maxConvergenceMs = Math.max(row(c).maxConvergenceMs, ms);
      total.maxConvergenceMs = Math.max(total.maxConvergenceMs, ms);
      if (left.length) {
        blame(current, 'convergenceFailures');
        for (const p of left) stuck.add(p);
        problem(`[${stepLabel}: ${note}] not converged within ${bound} ms: ${left.slice(0, 4).join('; ')}${left.length > 4 ? ` (+${left.length - 4})` : ''}`);
      }
      for (const removal of observer.removals.slice(before.removals)) problem(`[${stepLabel}: ${note}] wrongful removal of ${removal.node} (${removal.address}) while ARM said ${removal.arm}`);
      for (const flip of observer.flips.slice(before.flips)) problem(`[${stepLabel}: ${note}] ${flip.node} (${flip.address}) went from passing to ${flip.to} while ARM had said ${flip.arm} for ${flip.armForMs} ms`);
      for (const zombie of observer.zombies.slice(before.zombies)) problem(`[${stepLabel}: ${note}] zombie: ${zombie.what} ${zombie.node} (${zombie.address}) while ARM had said ${zombie.arm} for ${zombie.armForMs} ms`);
      for (const write of observer.unownedWrites.slice(before.writes)) problem(`[${stepLabel}: ${note}] unowned write: ${write.what}`);
      log(`@${((stepStart - soakStart) / 1000).toFixed(2)} s ${stepLabel}: ${note} (${injectedMs} ms) → converged in ${ms} ms${left.length ? ` (NOT: ${left.length} differences)` : ''}`);
    }
    const tailFrom = Date.now();
    await Promise.all(background.keys());
    timing.tail(Date.now() - tailFrom);
    const soakMs = Date.now() - soakStart;
    const { unsettled: _unsettled, ...eventGrid } = box.eventGridStats();
    phase('soak');
    current = 'end';
    stepLabel = 'end';
    await probe.stop();
    const probeEnd = Date.now();
    noEndpoints.closeAll(probeEnd);
    const noEndpoint = noEndpoints.summary(probeEnd - probeStart, SERVICES.length);
    const end = await converge(bound);
    phase('end convergence');
    if (end.left.length) problem(`[end] not converged within ${bound} ms after the last fault: ${end.left.slice(0, 6).join('; ')}`);
    for (const r of observer.removals) blame(r.faultClass, 'wrongfulRemovals');
    for (const f of observer.flips) blame(f.faultClass, 'wrongfulFlips');
    for (const z of observer.zombies) blame(z.faultClass, 'zombieRegistrations');
    for (const w of observer.unownedWrites) blame(w.faultClass, 'unownedWrites');
    const foreignChanged = foreignChanges(foreignAtStart, foreignView(consul.state.snapshot()));
    const foreignIntact = foreignChanged.length === 0;
    if (!foreignIntact) problem(`hand-registered Consul entries changed during the run: ${foreignChanged.slice(0, 6).join('; ')}`);
    const shared = consul.state.snapshot().nodes.find((n) => n.node === sharedNode);
    const sharedNodeFate = !shared ? 'deleted' : shared.meta[NODE_META.externalSource] === EXTERNAL_SOURCE ? 'still ours' : NODE_META.released in shared.meta ? 'released' : 'neither ours nor released';
    sample();
    const memory = { baselineHeapMb: Math.round(baselineHeap / 2 ** 20), maxHeapMb: Math.round(maxHeap / 2 ** 20), maxRssMb: Math.round(maxRss / 2 ** 20), limitMb };
    if (memory.maxHeapMb > limitMb) problem(`heap reached ${memory.maxHeapMb} MB (limit ${limitMb} MB: ${memory.baselineHeapMb} MB after warm-up + ${limitMb - memory.baselineHeapMb} MB)`);
    for (const p of gateway.problems.slice(0, 5)) problem(p);
    // What calls that reached no instance said, for the report.
    const noEndpointErrors = noEndpoints.commonestErrors(5).map(([error, count]) => `${count} × ${error}`);
    const list = [...rows.values()].filter((r) => r.injected > 0 || r.faultClass === ACTION_ROW);
    // The total holds what happened outside the steps too (at the end, while converging).
    const bad = [...list, total].some((r) => r.wrongfulRemovals || r.wrongfulFlips || r.zombieRegistrations || r.failedToLive || r.noEndpointWhileLive || r.unownedWrites || r.convergenceFailures || r.wrongAnswers);
    result = {
      seed: options.seed,
      faultsPlanned: options.faults,
      ...(options.classes ? { classes: options.classes } : {}),
      ...(options.maxMs !== undefined ? { maxMs: options.maxMs } : {}),
      ...(options.overlap ? { overlap: true } : {}),
      total,
      ...(options.timerSeconds !== undefined ? { timerSeconds } : {}),
      sharedNode: `${sharedNode}: ${sharedNodeFate}`,
      eventGrid,
      faultsInjected: injected,
      actions,
      durationMs: Date.now() - began,
      soakMs,
      convergenceBoundMs: bound,
      calls: probe.calls,
      rows: list,
      memory,
      foreignIntact,
      problems,
      noEndpoint,
      noEndpointErrors,
      adsBackoffFix,
      timing: timing.result(),
      ok: !bad && end.left.length === 0 && foreignIntact && memory.maxHeapMb <= limitMb && gateway.problems.length === 0,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`chaos cleanup: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  phase('stop');
  return { ...result, durationMs: Date.now() - began, phases };
}
