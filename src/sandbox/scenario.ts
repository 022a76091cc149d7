/**
 * `npm run scenario`: a scripted story over the whole sandbox, with a report. For each step: the
 * time from the ARM change to the first request served by a new instance (or the last one served
 * by a removed instance), the requests that failed during the step, and whether Consul and the
 * relay ended equal to ARM.
 */
import { clusterName } from '../relay/resources/resource-names';
import { envoyType } from '../relay/xds/envoy-protos';
import { SANDBOX_SCALE_SETS, selectorOf, startSandbox, type Sandbox, type SandboxOptions } from './sandbox';
import type { SandboxState } from './sandbox-state';

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
}

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
  for (const set of state.scaleSets) {
    const relayEndpoints = new Map<string, string>();
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
    for (const i of set.instances) {
      const want = expectedState(i);
      if (i.consul !== want) consul.push(`${i.name}: ARM says ${want}, Consul ${i.consul}`);
      const got = relayEndpoints.get(i.privateIp);
      if (got !== want) relay.push(`${i.name}: ARM says ${want}, relay ${got ?? 'absent'}`);
      relayEndpoints.delete(i.privateIp);
    }
    for (const [ip, health] of relayEndpoints) relay.push(`${set.service}: relay still has ${ip} (${health}) that ARM does not list`);
  }
  // Registrations ARM no longer backs (e.g. a failed deregistration after a scale-in).
  const armIps = new Set(state.scaleSets.flatMap((set) => set.instances.map((i) => i.privateIp)));
  for (const node of sandbox.ownedNodes()) if (!armIps.has(node.address)) consul.push(`Consul still has ${node.node} (${node.address}) that ARM does not list`);
  return { consul, relay };
}

export async function runScenario(options: ScenarioOptions = {}): Promise<StepReport[]> {
  const sandbox = await startSandbox({ azurite: false, ...options });
  const reports: StepReport[] = [];
  try {
    const timeout = options.stepTimeoutMs ?? 60_000;
    const calls = () => [...sandbox.traffic.values()].reduce((sum, t) => sum + t.totals().calls, 0);
    const failures = () => [...sandbox.traffic.values()].reduce((sum, t) => sum + t.totals().failed, 0);
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
    return reports;
  } catch (error) {
    // The reports so far (the last one says why) are the result; the missing steps fail the checks.
    if (error instanceof ScenarioAborted) return reports;
    throw error;
  } finally {
    await sandbox.close();
  }
}

class ScenarioAborted extends Error {}

/** `promise`'s value, or undefined once `ms` have passed (the timer never outlives the race). */
function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function renderReport(reports: readonly StepReport[]): string {
  const header = ['step', 'traffic followed', 'requests', 'failed', 'Consul = ARM', 'relay = ARM', 'took'];
  const rows = reports.map((r) => [r.step, r.trafficFollowedMs === undefined ? '-' : `${r.trafficFollowedMs} ms`, String(r.requests), String(r.failedRequests), r.consulEqualsArm ? 'yes' : 'NO', r.relayEqualsArm ? 'yes' : 'NO', `${r.durationMs} ms`]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ');
  const problems = reports.flatMap((r) => r.problems.map((p) => `  ${r.step}: ${p}`));
  return [line(header), ...rows.map(line), ...(problems.length ? ['', 'problems:', ...problems] : [])].join('\n') + '\n';
}
