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
import { endpointSetOf, hostilePush, openHostileXds, type HostilePushKind, type HostileXdsKind } from './hostile-clients';
import type { ChaosAction, Step } from './schedule';
import { armInstances } from './world-view';

export interface FaultContext {
  readonly sandbox: Sandbox;
  readonly consul: ConsulDouble;
  readonly gate: EventGate;
  act(action: ChaosAction): Promise<void>;
}

/** How long an armed ARM fault waits for a request to meet it (the timer reconciles every second). */
const ARM_FAULT_WAIT_MS = 1_200;
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const LIST_ROUTES = ['vmss.list', 'vmssVm.list', 'vmssNic.list', 'vm.list', 'nic.list'] as const;
const ARM_ROUTES = ['vmss.get', ...LIST_ROUTES] as const;
const PAGE_FAULTS = ['empty-page', 'drop-last-item', 'broken-next-link'] as const;

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

/** Waits until ARM's armed faults are used up (or `ms`), then clears what is left. */
async function untilArmFaultsUsed(ctx: FaultContext, ms: number): Promise<number> {
  const faults = ctx.sandbox.world.arm.faults;
  const deadline = Date.now() + ms;
  while (faults.pending > 0 && Date.now() < deadline) await pause(20);
  const left = faults.pending;
  faults.clear();
  return left;
}

export async function injectFault(ctx: FaultContext, step: Extract<Step, { kind: 'fault' }>): Promise<string> {
  const random = seededRandom(step.seed);
  const arm = ctx.sandbox.world.arm.faults;
  const set = SANDBOX_SCALE_SETS[Math.floor(step.pick * SANDBOX_SCALE_SETS.length)]!;
  const consulState = ctx.consul.state;
  const armFault = async (what: string) => {
    void provokeReconcile(ctx);
    const left = await untilArmFaultsUsed(ctx, ARM_FAULT_WAIT_MS);
    return `${what}${left ? ` (${left} not reached)` : ''}`;
  };
  const consulWindow = async (what: string, reply: () => HookReply | { drop: true } | Promise<undefined>) => {
    consulState.setBeforeRequest(() => reply());
    void provokeReconcile(ctx);
    await pause(step.windowMs);
    consulState.setBeforeRequest(undefined);
    return `${what} for ${step.windowMs} ms`;
  };
  switch (step.faultClass) {
    case 'arm-404':
      arm.fail(1, { status: 404, code: 'ResourceNotFound', message: `The Resource 'Microsoft.Compute/virtualMachineScaleSets/${set.name}' under resource group was not found.`, route: 'vmss.get', pathIncludes: `/${set.name}` });
      return armFault(`one 404 on GET ${set.name}`);
    case 'arm-429': {
      const route = ARM_ROUTES[random.int(ARM_ROUTES.length)]!;
      arm.throttle(step.count, { retryAfterSeconds: 1, route });
      return armFault(`${step.count} × 429 on ${route}`);
    }
    case 'arm-500': {
      const route = ARM_ROUTES[random.int(ARM_ROUTES.length)]!;
      arm.fail(step.count, { route });
      return armFault(`${step.count} × 500 on ${route}`);
    }
    case 'arm-slow': {
      const route = ARM_ROUTES[random.int(ARM_ROUTES.length)]!;
      arm.delay(step.count, { route, delayMs: 200 + random.int(1_300) });
      return armFault(`${step.count} slow answer(s) on ${route}`);
    }
    case 'arm-hung': {
      const route = ARM_ROUTES[random.int(ARM_ROUTES.length)]!;
      arm.delay(1, { route, delayMs: 5_000 });
      return armFault(`a 5 s hang on ${route}`);
    }
    case 'arm-wrong-page': {
      const route = LIST_ROUTES[random.int(LIST_ROUTES.length)]!;
      const kind = PAGE_FAULTS[random.int(PAGE_FAULTS.length)]!;
      arm.wrongPage(1, { route, kind });
      return armFault(`${kind} on ${route}`);
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
      void provokeReconcile(ctx);
      const deadline = Date.now() + Math.max(2_000, step.windowMs);
      while (left > 0 && Date.now() < deadline) await pause(20);
      consulState.setAfterWrite(undefined);
      return `${step.count - Math.max(0, left)} committed write(s) answered by a dropped connection`;
    }
    case 'relay-restart':
      await ctx.sandbox.restartRelay();
      return 'relay restarted';
    case 'event-duplicate':
    case 'event-loss':
    case 'event-delay':
    case 'event-reorder': {
      ctx.gate.mode = step.faultClass === 'event-duplicate' ? 'duplicate' : step.faultClass === 'event-loss' ? 'drop' : 'hold';
      if (step.action) await ctx.act(step.action);
      await pause(step.windowMs);
      const held = ctx.gate.release();
      if (step.faultClass === 'event-delay') {
        await pause(step.windowMs);
        await ctx.sandbox.world.deliver(held, { seed: step.seed }).catch(() => undefined);
      } else if (step.faultClass === 'event-reorder') {
        // Newest first, with an old operation replayed among them.
        const old = ctx.sandbox.world.arm.world.operations;
        const replay = old.length > 0 ? [old[random.int(old.length)]!] : [];
        await ctx.sandbox.world.deliver([...held, ...replay].reverse(), { seed: step.seed, reorder: true, duplicateRate: 0.3 }).catch(() => undefined);
      }
      return `${step.faultClass.slice(6)} of the events of ${JSON.stringify(step.action)}${held.length ? ` (${held.length} held)` : ''}`;
    }
    case 'xds-huge-node':
    case 'xds-never-reading':
    case 'xds-nack-loop':
    case 'xds-unknown-types': {
      const close = openHostileXds(ctx.sandbox.relay().xdsAddress, step.faultClass.slice(4) as HostileXdsKind, random, SANDBOX_SCALE_SETS.map((s) => s.service));
      await pause(step.windowMs);
      close();
      return `${step.faultClass.slice(4)} client for ${step.windowMs} ms`;
    }
    case 'push-bad-token':
    case 'push-inflated-index':
    case 'push-garbage-payload': {
      const kind = step.faultClass.slice(5) as HostilePushKind;
      const index = consulState.index + (kind === 'inflated-index' ? 1_000_000_000 : 0);
      const pushed = endpointSetOf(set.service, set.port, armInstances(ctx.sandbox), index);
      const answer = await hostilePush(ctx.sandbox.relay().xdsAddress, SANDBOX_RELAY_TOKEN, kind, random, pushed);
      // A change right after: a relay that trusted the push must still follow it.
      await ctx.act({ kind: 'scale', set: SANDBOX_SCALE_SETS.indexOf(set), capacity: armInstances(ctx.sandbox).filter((v) => v.service === set.service && v.instance.provisioningState !== 'Deleting').length === 1 ? 2 : 1 });
      return `${kind} push of ${set.service}: ${answer}`;
    }
  }
}
