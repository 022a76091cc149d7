/**
 * `npm run scenario`: a scripted story over the whole sandbox, with a report. For each step: the
 * time from the ARM change to the first request served by a new instance (or the last one served
 * by a removed instance), the requests that failed during the step, and whether Consul and the
 * relay ended equal to ARM.
 *
 * After the scale-out / scale-in / fail / relay-restart / event-chaos steps comes a blue/green
 * rollout of `orders` to a new scale set (steps 10, 50, 100 %, then the old one retired): for each
 * step, the measured share of each scale set against its weight (over ROLLOUT_CALLS calls of a
 * fast measuring client next to the steady ones), the time from the tag write to every client
 * having the new weights, and the failed requests (none may fail). Last, retry tags go on the new
 * scale set and one of its instances fails every other call with UNAVAILABLE: fewer than 1 % of
 * the calls may fail.
 */
import { clusterName } from '../relay/resources/resource-names';
import { envoyType } from '../relay/xds/envoy-protos';
import { errorMessage } from '../shared/errors';
import type { RolloutStepResult } from './rollout';
import { clientsHave } from './rollout-waits';
import { SANDBOX_SCALE_SETS, selectorOf, startSandbox, type Sandbox, type SandboxOptions } from './sandbox';
import type { SandboxState } from './sandbox-state';
import { grpcBootstrap, XdsTraffic } from './traffic/xds-traffic';

export interface StepReport {
  readonly step: string;
  /** ms from the ARM change to the first call served by a new instance / the last call served by a removed one. */
  readonly trafficFollowedMs?: number;
  readonly failedRequests: number;
  readonly requests: number;
  readonly consulEqualsArm: boolean;
  readonly relayEqualsArm: boolean;
  readonly problems: readonly string[];
  readonly durationMs: number;
  /** Blue/green steps: each scale set's weight (percent) and measured share of the calls counted. */
  readonly shares?: readonly ScaleSetShare[];
  /** ms from the tag write to every proxyless client of the service having ACKed the new weights / policy. */
  readonly shiftMs?: number;
  /** Share of the requests allowed to fail (0 unless said: the flaky-instance step allows < 1 %). */
  readonly failureBudget?: number;
  /** The flaky-instance step: the attempts the instance failed on purpose, over `calls` calls of the measuring client. */
  readonly flakyInstance?: { readonly name: string; readonly failedAttempts: number; readonly calls: number };
}

export interface ScaleSetShare {
  readonly scaleSet: string;
  /** `vmss-mesh-weight` after the step, in percent of the service's weights. */
  readonly weight: number;
  /** Measured share (0–1) of the calls counted at the step. */
  readonly share: number;
  readonly calls: number;
}

/** Calls counted at each blue/green step (≥ 2,000 at 90/10: ±5 points is 7.5 standard deviations there). */
export const ROLLOUT_CALLS: Readonly<Record<number, number>> = { 10: 2_000, 50: 2_000, 100: 500 };
/** Calls counted while an instance fails half its calls with retries configured. */
export const FLAKY_CALLS = 2_000;
/** Where the rollout goes: an image reference, so the new scale set is named orders-v2. */
export const ROLLOUT_IMAGE = 'vmss-mesh:demo-backend:grpc:2.0.0';

export interface ScenarioOptions extends SandboxOptions {
  /** Deadline for each step to converge (default 60 s). */
  readonly stepTimeoutMs?: number;
  readonly onStep?: (report: StepReport) => void;
}

type Expected = 'passing' | 'critical' | 'draining';

/** What Consul should say about an instance, from ARM's view alone. */
function expectedState(i: SandboxState['scaleSets'][number]['instances'][number]): Expected {
  if (i.provisioningState === 'Deleting') return 'draining';
  const healthy = i.health === null || i.health === 'Healthy';
  return i.provisioningState === 'Succeeded' && i.powerState === 'running' && healthy ? 'passing' : 'critical';
}

const CLA = () => envoyType('envoy.config.endpoint.v3.ClusterLoadAssignment');
const RELAY_HEALTH: Record<string, Expected | 'unhealthy'> = { HEALTHY: 'passing', UNKNOWN: 'passing', DRAINING: 'draining', UNHEALTHY: 'critical' };

/** Differences between ARM and Consul, and between ARM and the relay's endpoints (empty = equal). */
export function compareWithArm(sandbox: Sandbox, state: SandboxState): { consul: string[]; relay: string[] } {
  const consul: string[] = [];
  const relay: string[] = [];
  const snapshot = sandbox.relay().snapshots.current('proxyless-grpc');
  // A service's cluster holds the endpoints of all its scale sets (two during a blue/green rollout).
  const byService = new Map<string, Map<string, string>>();
  for (const set of state.scaleSets) {
    if (byService.has(set.service)) continue;
    const relayEndpoints = new Map<string, string>();
    byService.set(set.service, relayEndpoints);
    const resource = snapshot.resources.endpoint.get(clusterName(set.service));
    if (resource) {
      const decoded = CLA().toObject(CLA().decode(resource.bytes), { enums: String }) as {
        endpoints?: Array<{ lb_endpoints?: Array<{ health_status?: string; endpoint?: { address?: { socket_address?: { address?: string } } } }> }>;
      };
      for (const locality of decoded.endpoints ?? []) {
        for (const lb of locality.lb_endpoints ?? []) {
          const ip = lb.endpoint?.address?.socket_address?.address;
          if (ip) relayEndpoints.set(ip, RELAY_HEALTH[lb.health_status ?? 'UNKNOWN'] ?? String(lb.health_status));
        }
      }
    }
  }
  for (const set of state.scaleSets) {
    const relayEndpoints = byService.get(set.service)!;
    for (const i of set.instances) {
      const want = expectedState(i);
      if (i.consul !== want) consul.push(`${i.name}: ARM says ${want}, Consul ${i.consul}`);
      const got = relayEndpoints.get(i.privateIp);
      if (got !== want) relay.push(`${i.name}: ARM says ${want}, relay ${got ?? 'absent'}`);
      relayEndpoints.delete(i.privateIp);
    }
  }
  for (const [service, relayEndpoints] of byService) for (const [ip, health] of relayEndpoints) relay.push(`${service}: relay still has ${ip} (${health}) that ARM does not list`);
  // Registrations ARM no longer backs (e.g. a failed deregistration after a scale-in).
  const armIps = new Set(state.scaleSets.flatMap((set) => set.instances.map((i) => i.privateIp)));
  for (const node of sandbox.ownedNodes()) if (!armIps.has(node.address)) consul.push(`Consul still has ${node.node} (${node.address}) that ARM does not list`);
  return { consul, relay };
}

export async function runScenario(options: ScenarioOptions = {}): Promise<StepReport[]> {
  const sandbox = await startSandbox({ azurite: false, ...options });
  const reports: StepReport[] = [];
  // The fast measuring client of the blue/green steps (its calls and failures count like the steady clients').
  const measuring: XdsTraffic[] = [];
  try {
    const timeout = options.stepTimeoutMs ?? 60_000;
    const clients = () => [...sandbox.traffic.values(), ...measuring];
    const calls = () => clients().reduce((sum, t) => sum + t.totals().calls, 0);
    const failures = () => clients().reduce((sum, t) => sum + t.totals().failed, 0);
    const served = (name: string, since: number) => [...sandbox.traffic.values()].some((t) => t.recordsSince(since).some((r) => r.instance === name));
    const lastServed = (names: ReadonlySet<string>) =>
      Math.max(0, ...[...sandbox.traffic.values()].flatMap((t) => t.recordsSince(0).filter((r) => r.instance && names.has(r.instance)).map((r) => r.at)));

    /** Waits until Consul and the relay equal ARM (and `extra` holds), then reports the step. */
    const step = async (name: string, act: () => Promise<void> | void, extra: (s: SandboxState, since: number) => boolean = () => true, measure?: (since: number) => number | undefined) => {
      const since = Date.now();
      const [calls0, failed0] = [calls(), failures()];
      const acted = await withinMs(Promise.resolve(act()).then(() => true), timeout);
      let problems: { consul: string[]; relay: string[] } = acted ? { consul: ['not checked'], relay: [] } : { consul: [`the step's action did not finish within ${timeout} ms`], relay: [] };
      while (acted) {
        const left = since + timeout - Date.now();
        const state = left > 0 ? await withinMs(sandbox.refreshed(), left) : undefined;
        if (!state) break; // deadline: report what the last check found
        problems = compareWithArm(sandbox, state);
        const settled = sandbox.world.arm.world.pendingTransitions === 0;
        if (settled && problems.consul.length === 0 && problems.relay.length === 0 && extra(state, since)) break;
        if (Date.now() - since > timeout) break;
      }
      const report: StepReport = {
        step: name,
        ...(measure ? { trafficFollowedMs: measure(since) } : {}),
        failedRequests: failures() - failed0,
        requests: calls() - calls0,
        consulEqualsArm: problems.consul.length === 0,
        relayEqualsArm: problems.relay.length === 0,
        problems: [...problems.consul, ...problems.relay],
        durationMs: Date.now() - since,
      };
      reports.push(report);
      options.onStep?.(report);
      // An action still running would change what the next steps measure: the story ends here.
      if (!acted) throw new ScenarioAborted(`${name}: ${problems.consul.join('; ')}`);
    };
    const instancesOf = (set: string) => sandbox.world.arm.world.listInstances(selectorOf(set));
    const orders = SANDBOX_SCALE_SETS[0]!.name;
    const catalog = SANDBOX_SCALE_SETS[1]!.name;

    const allServe = (s: SandboxState, since: number) =>
      s.scaleSets.every((set) => set.instances.filter((i) => i.provisioningState !== 'Deleting').every((i) => served(i.name, since)));
    await step('start: 2 + 2 instances registered and serving', () => undefined, allServe);

    let before = new Set(instancesOf(orders).map((i) => i.name));
    await step(
      `scale-out ${orders} 2 → 6`,
      () => void sandbox.act({ action: 'scale', scaleSet: orders, capacity: 6 }),
      allServe,
      (since) => {
        const fresh = instancesOf(orders).filter((i) => !before.has(i.name)).map((i) => i.name);
        const firsts = fresh.map((n) => Math.min(...[...sandbox.traffic.values()].flatMap((t) => t.recordsSince(since).filter((r) => r.instance === n).map((r) => r.at))));
        return firsts.length > 0 && firsts.every(Number.isFinite) ? Math.min(...firsts) - since : undefined;
      },
    );

    before = new Set(instancesOf(orders).map((i) => i.name));
    let removed = new Set<string>();
    await step(
      `scale-in ${orders} 6 → 2 (drain before delete)`,
      () => {
        void sandbox.act({ action: 'scale', scaleSet: orders, capacity: 2 });
        removed = new Set(instancesOf(orders).filter((i) => i.provisioningState === 'Deleting').map((i) => i.name));
      },
      () => instancesOf(orders).length === 2,
      // When the last request reached a removed instance: 0 when traffic had left them before the
      // first request of the step (clients stop at DRAINING, which can come within milliseconds).
      (since) => {
        const last = lastServed(removed);
        return removed.size > 0 && last > 0 ? Math.max(0, last - since) : undefined;
      },
    );

    const [victim] = instancesOf(catalog);
    if (victim) {
      await step(`${victim.name} fails`, () => void sandbox.act({ action: 'fail', instance: victim.name }), (s) => s.scaleSets.some((set) => set.instances.some((i) => i.name === victim.name && i.consul === 'critical')));
      await step(`${victim.name} heals`, () => void sandbox.act({ action: 'heal', instance: victim.name }), (_s, since) => served(victim.name, since));
    }

    await step('relay restart', () => sandbox.restartRelay(), (s, since) => allServe(s, since) && s.relayClients.length === SANDBOX_SCALE_SETS.length);

    await step(
      `duplicated and reordered events: ${catalog} 2 → 3 → 2`,
      async () => {
        await sandbox.act({ action: 'event-chaos', enabled: true });
        await sandbox.act({ action: 'scale', scaleSet: catalog, capacity: 3 });
        await sandbox.act({ action: 'scale', scaleSet: catalog, capacity: 2 });
      },
      () => instancesOf(catalog).length === 2,
    );
    await sandbox.act({ action: 'event-chaos', enabled: false });

    // Blue/green: orders → orders-v2 in 10, 50, 100 %, measured by a fast client next to the steady one.
    const fast = new XdsTraffic({ service: orders, bootstrap: grpcBootstrap({ serverUri: sandbox.relay().xdsAddress, nodeId: 'scenario-measuring-client' }), concurrency: 4, pauseMs: 0 });
    measuring.push(fast);
    await fast.warmUp(timeout);
    fast.start();
    /** Waits (bounded) until Consul and the relay equal ARM; the differences left, if any. */
    const settle = async (deadline: number) => {
      let problems = { consul: ['not checked'], relay: [] as string[] };
      for (;;) {
        const state = await withinMs(sandbox.refreshed(), Math.max(1, deadline - Date.now()));
        if (!state) return problems;
        problems = compareWithArm(sandbox, state);
        if (sandbox.world.arm.world.pendingTransitions === 0 && problems.consul.length === 0 && problems.relay.length === 0) return problems;
        if (Date.now() > deadline) return problems;
      }
    };
    let mark = { at: Date.now(), calls: calls(), failed: failures() };
    const rolloutStep = async (r: RolloutStepResult) => {
      const problems = await settle(Date.now() + timeout);
      const report: StepReport = {
        step: `blue/green: ${r.name}`,
        ...(r.trafficMs === undefined ? {} : { trafficFollowedMs: r.trafficMs }),
        ...(r.shiftMs === undefined ? {} : { shiftMs: r.shiftMs }),
        ...(r.kind === 'shift' ? { shares: Object.entries(r.weights).map(([scaleSet, weight]) => ({ scaleSet, weight, share: r.shares[scaleSet] ?? 0, calls: r.measuredCalls })) } : {}),
        failedRequests: failures() - mark.failed,
        requests: calls() - mark.calls,
        consulEqualsArm: problems.consul.length === 0,
        relayEqualsArm: problems.relay.length === 0,
        problems: [...problems.consul, ...problems.relay],
        durationMs: Date.now() - mark.at,
      };
      mark = { at: Date.now(), calls: calls(), failed: failures() };
      reports.push(report);
      options.onStep?.(report);
    };
    try {
      await sandbox.rollout(
        { service: orders, to: ROLLOUT_IMAGE, steps: [10, 50, 100] },
        { measureWith: [fast], holdCallsAt: (step) => ROLLOUT_CALLS[step] ?? 500, stepTimeoutMs: Math.max(timeout, 120_000), onStep: rolloutStep },
      );
    } catch (error) {
      const report: StepReport = { step: 'blue/green: rollout', failedRequests: failures() - mark.failed, requests: calls() - mark.calls, consulEqualsArm: false, relayEqualsArm: false, problems: [`the rollout stopped: ${errorMessage(error)}`], durationMs: Date.now() - mark.at };
      reports.push(report);
      options.onStep?.(report);
      throw new ScenarioAborted(report.problems[0]);
    }

    // Retries: the new scale set gets retry tags, then one of its instances fails every other call.
    const green = sandbox.world.arm.world.listScaleSets().find((set) => set.name !== orders && set.tags['vmss-mesh-service'] === orders);
    const [flaky] = green ? sandbox.world.arm.world.listInstances(selectorOf(green.name)) : [];
    if (!green || !flaky) throw new ScenarioAborted('no new scale set of orders with an instance after the rollout');
    const failedOnPurpose0 = sandbox.instanceStats(flaky.name)?.failedOnPurpose ?? 0;
    mark = { at: Date.now(), calls: calls(), failed: failures() };
    const written = Date.now();
    sandbox.world.arm.world.setTags(selectorOf(green.name), { ...green.tags, 'vmss-mesh-retry-on': 'unavailable', 'vmss-mesh-retries': '3' });
    const acked = await clientsHave(sandbox.relay(), orders, (set) => set.policy?.retryOn.includes('unavailable') === true && set.policy.numRetries === 3, 'the retry policy', timeout);
    const failing = await sandbox.act({ action: 'fail-half', instance: flaky.name });
    if (!failing.ok) throw new Error(failing.message);
    const measuredFrom = Date.now();
    await fast.waitFor(() => fast.recordsSince(measuredFrom).length >= FLAKY_CALLS, Math.max(timeout, 120_000), `${FLAKY_CALLS} calls while ${flaky.name} fails half`);
    await sandbox.act({ action: 'heal', instance: flaky.name });
    const failedAttempts = (sandbox.instanceStats(flaky.name)?.failedOnPurpose ?? 0) - failedOnPurpose0;
    const measured = fast.shares(measuredFrom);
    const problems = await settle(Date.now() + timeout);
    const flakyReport: StepReport = {
      step: `retries on (unavailable ×3), ${flaky.name} fails half its calls`,
      shiftMs: acked - written,
      flakyInstance: { name: flaky.name, failedAttempts, calls: measured.calls },
      failureBudget: 0.01,
      failedRequests: failures() - mark.failed,
      requests: calls() - mark.calls,
      consulEqualsArm: problems.consul.length === 0,
      relayEqualsArm: problems.relay.length === 0,
      problems: [...problems.consul, ...problems.relay, ...(failedAttempts === 0 ? [`${flaky.name} failed no call: the step tested nothing`] : [])],
      durationMs: Date.now() - mark.at,
    };
    reports.push(flakyReport);
    options.onStep?.(flakyReport);
    return reports;
  } catch (error) {
    // The reports so far (the last one says why) are the result; the missing steps fail the checks.
    if (error instanceof ScenarioAborted) return reports;
    throw error;
  } finally {
    for (const client of measuring) {
      await client.stop();
      client.close();
    }
    await sandbox.close();
  }
}

/** True when the step went as it should: equal to ARM, and no more failed requests than its budget. */
export function stepPassed(r: StepReport): boolean {
  const failuresOk = r.failureBudget ? r.failedRequests < r.failureBudget * r.requests : r.failedRequests === 0;
  return r.consulEqualsArm && r.relayEqualsArm && failuresOk && (r.shares ?? []).every((s) => s.calls === 0 || Math.abs(100 * s.share - s.weight) <= 5);
}

class ScenarioAborted extends Error {}

/** `promise`'s value, or undefined once `ms` have passed (the timer never outlives the race). */
function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function renderReport(reports: readonly StepReport[]): string {
  const header = ['step', 'shares (measured / weight)', 'clients had it', 'traffic followed', 'requests', 'failed', 'Consul = ARM', 'relay = ARM', 'took'];
  const shares = (r: StepReport) => {
    if (r.flakyInstance) return `${r.flakyInstance.name} failed ${r.flakyInstance.failedAttempts} attempts (${r.flakyInstance.calls} calls)`;
    return r.shares?.length ? r.shares.map((s) => `${s.scaleSet} ${(100 * s.share).toFixed(1)}/${s.weight}`).join(', ') + ` (${r.shares[0]!.calls} calls)` : '-';
  };
  const failed = (r: StepReport) => (r.failureBudget ? `${r.failedRequests} (${((100 * r.failedRequests) / Math.max(1, r.requests)).toFixed(2)} %, < ${100 * r.failureBudget} % allowed)` : String(r.failedRequests));
  const rows = reports.map((r) => [
    r.step,
    shares(r),
    r.shiftMs === undefined ? '-' : `${r.shiftMs} ms`,
    r.trafficFollowedMs === undefined ? '-' : `${r.trafficFollowedMs} ms`,
    String(r.requests),
    failed(r),
    r.consulEqualsArm ? 'yes' : 'NO',
    r.relayEqualsArm ? 'yes' : 'NO',
    `${r.durationMs} ms`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ');
  const problems = reports.flatMap((r) => r.problems.map((p) => `  ${r.step}: ${p}`));
  return [line(header), ...rows.map(line), ...(problems.length ? ['', 'problems:', ...problems] : [])].join('\n') + '\n';
}
