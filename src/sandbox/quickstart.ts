/**
 * The story `npm start` tells: the local world comes up, two mesh scale sets (Uniform and
 * Flexible) scale out and in through ARM, an instance fails and heals, and after each step the
 * terminal shows what Consul holds (through the app's own /api/status). Every wait is on a
 * condition with a deadline; a step that does not converge fails loudly.
 */
import type { ArmWorld } from './arm-emulator';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION, type LocalWorld } from './local-world';
import type { StatusView } from '../shared/status-view';

export interface QuickstartOptions {
  /** How long new instances stay Creating (default 1500 ms). */
  readonly createDelayMs?: number;
  /** How long removed instances drain (default 3000 ms). */
  readonly drainMs?: number;
  /** NCRONTAB of the reconcile timer (default every 5 s, so health changes show quickly). */
  readonly timerSchedule?: string;
  /** Deadline of each step (default 30 s). */
  readonly stepTimeoutMs?: number;
  /** Port of the Functions host (default 7071; 0 = any). */
  readonly hostPort?: number;
  readonly write: (text: string) => void;
}

export interface QuickstartRun {
  readonly world: LocalWorld;
  readonly steps: ReadonlyArray<{ readonly name: string; readonly ms: number }>;
}

const web = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'web' };
const api = { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'api' };

export async function runQuickstart(options: QuickstartOptions): Promise<QuickstartRun> {
  const write = options.write;
  const world = await startLocalWorld({
    lifecycle: { createDelayMs: options.createDelayMs ?? 1500, drainMs: options.drainMs ?? 3000 },
    settings: { VMSS_MESH_RECONCILE_SCHEDULE: options.timerSchedule ?? '*/5 * * * * *' },
    runTimers: true,
    hostPort: options.hostPort ?? 7071,
    log: (r) => {
      if (r.functionName !== 'host' && /^(warning|error)$/.test(r.level)) write(`  [${r.functionName}] ${r.level}: ${r.message}\n`);
    },
  });
  try {
    write(`vmss-mesh local world (nothing from Azure is used):\n`);
    write(`  ARM emulator (HTTPS)  ${world.arm.url}\n`);
    write(`  Consul (API double)   ${world.consul.url}   (no consul binary is used here)\n`);
    write(`  Functions host        ${world.host.url}   status: ${world.host.url}/api/status\n\n`);

    // Event Grid: every ARM operation is delivered to vmssEvents right after it happens.
    let delivering = Promise.resolve();
    world.arm.world.on('operation', () => {
      delivering = delivering.then(async () => {
        for (const response of await world.deliverPending({ maxEventsPerBatch: 10 })) {
          if (response.status >= 300) write(`  Event Grid delivery answered ${response.status}: ${response.body}\n`);
        }
      });
    });

    const arm: ArmWorld = world.arm.world;
    arm.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
    arm.createScaleSet({ ...web, zones: ['1', '2', '3'], capacity: 0, tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080', 'vmss-mesh-health-path': '/healthz' } });
    arm.createScaleSet({ ...api, orchestrationMode: 'Flexible', zones: ['1', '2'], capacity: 0, tags: { 'vmss-mesh-service': 'api', 'vmss-mesh-port': '9090', 'vmss-mesh-protocol': 'grpc' } });

    const steps: Array<{ name: string; ms: number }> = [];
    const step = async (name: string, act: () => void, until: (view: StatusView) => boolean) => {
      write(`▶ ${name}\n`);
      const started = Date.now();
      act();
      const view = await waitForStatus(world, until, options.stepTimeoutMs ?? 30_000, name);
      const ms = Date.now() - started;
      steps.push({ name, ms });
      write(renderTable(view));
      write(`  ✓ converged in ${ms} ms\n\n`);
    };
    const count = (view: StatusView, set: string, state?: string) =>
      view.instances.filter((i) => i.scaleSetId.endsWith(`/${set}`) && (!state || i.state === state)).length;

    await step('scale out web (Uniform) 0 → 3', () => arm.scale(web, 3), (v) => count(v, 'web') === 3 && count(v, 'web', 'passing') === 3);
    await step('scale out api (Flexible) 0 → 2', () => arm.scale(api, 2), (v) => count(v, 'api') === 2 && count(v, 'api', 'passing') === 2);
    await step('scale in web 3 → 1: two instances drain (Deleting)…', () => arm.scale(web, 1), (v) => count(v, 'web', 'draining') === 2);
    await step('…and are removed when the drain window ends', () => undefined, (v) => count(v, 'web') === 1);
    const [survivor] = arm.listInstances(web).filter((i) => i.provisioningState !== 'Deleting');
    if (survivor) {
      await step(`${survivor.name} reports Unhealthy (application health)`, () => arm.setHealth(web, survivor.instanceId, 'Unhealthy'), (v) => count(v, 'web', 'critical') === 1);
      await step(`${survivor.name} is healthy again`, () => arm.setHealth(web, survivor.instanceId, 'Healthy'), (v) => count(v, 'web', 'passing') === 1);
    }
    await delivering;
    return { world, steps };
  } catch (error) {
    await world.close();
    throw error;
  }
}

async function fetchStatus(world: LocalWorld): Promise<StatusView> {
  const response = await fetch(`${world.host.url}/api/status`);
  if (!response.ok) throw new Error(`/api/status answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as StatusView;
}

/** Waits, on Consul's index rather than on a clock, until the app's status satisfies `until`. */
async function waitForStatus(world: LocalWorld, until: (view: StatusView) => boolean, timeoutMs: number, what: string): Promise<StatusView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const index = world.consul.state.index;
    const view = await fetchStatus(world);
    if (until(view)) return view;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`step did not converge within ${timeoutMs} ms: ${what}\n${renderTable(view)}`);
    await world.consul.state.waitForIndexAbove(index, left);
  }
}

export function renderTable(view: StatusView): string {
  const rows = view.instances.map((i) => [i.scaleSetId.split('/').pop() ?? '', i.name, i.privateIp, i.zone || '-', i.state, i.services.join(' ')]);
  const header = ['scale set', 'instance', 'private IP', 'zone', 'Consul', 'services'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => `  ${cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}\n`;
  return line(header) + (rows.length > 0 ? rows.map(line).join('') : '  (no instances registered)\n');
}
