/**
 * bench:reconcile (issue 12): the timer sweep as the app runs it (createAppRuntime from app
 * settings, VMSS_MESH_ARM_CA_FILE included) against the project's ARM emulator and Consul double.
 *
 * The world (emulator + double + a counting proxy in front of the double) runs in a child process
 * (bench/reconcile-world.ts), so the CPU reported is this process's alone: the app's reconciler,
 * ARM SDK, Consul client, TLS. Counts are exact: ARM requests from the emulator's request log and
 * the app's per-scale-set meter, Consul requests, txn operations and read bytes from the proxy.
 *
 *   (a) nothing changed: 20 scale sets × 500 (10 Uniform, 10 Flexible, one resource group), a
 *       runtime that has already swept the world once (JIT and connections warm), swept again;
 *   (b) first sweep: a fresh runtime and an empty Consul, 10,000 new instances.
 *
 * Times are medians of RUNS runs (env BENCH_RUNS, default 3: the suite has 10 minutes for every part). BENCH_SETS / BENCH_PER_SET shrink the
 * world; BENCH_PROFILE=dir writes .cpuprofile files of this process and of the world;
 * BENCH_CONCURRENCY overrides the sweep's concurrency (a what-if, not what the timer does).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { createAppRuntime } from '../src/functions/app-runtime';
import type { AppRuntime } from '../src/functions/app-runtime';
import { loadConfig } from '../src/shared/config';
import type { SweepReport } from '../src/shared/reconcile/reconcile-run';
import { writeResults } from './results';
import type { Figure } from './results';
import type { WorldCounts, WorldReply, WorldRequest, WorldSpec } from './reconcile-world';

const SUBSCRIPTION = '00000000-0000-4000-8000-0000000be0c1';
const RESOURCE_GROUP = 'rg-bench';
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SPEC: WorldSpec = {
  subscriptionId: SUBSCRIPTION,
  resourceGroup: RESOURCE_GROUP,
  sets: Number(process.env.BENCH_SETS ?? 20),
  perSet: Number(process.env.BENCH_PER_SET ?? 500),
  pageSize: Number(process.env.BENCH_PAGE_SIZE ?? 100),
};
const PROFILE_DIR = process.env.BENCH_PROFILE;
/** What-if knob: scale sets reconciled at once by the sweep (default: the app's own, 4). */
const CONCURRENCY = process.env.BENCH_CONCURRENCY === undefined ? undefined : Number(process.env.BENCH_CONCURRENCY);

type Ask = <T extends WorldRequest['kind']>(kind: T, extra?: Omit<Extract<WorldRequest, { kind: T }>, 'id' | 'kind'>) => Promise<Extract<WorldReply, { ok: true }>>;

function startWorld(): { ask: Ask; done: Promise<void> } {
  const child = fork(path.join(__dirname, 'reconcile-world.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, { resolve: (r: Extract<WorldReply, { ok: true }>) => void; reject: (e: Error) => void }>();
  let next = 0;
  child.on('message', (raw) => {
    const reply = raw as WorldReply;
    const w = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.ok) w?.resolve(reply);
    else w?.reject(new Error(`world: ${reply.error}`));
  });
  const done = new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => {
      for (const w of waiting.values()) w.reject(new Error(`the world process exited (${code})`));
      if (code === 0 || code === null) resolve();
      else reject(new Error(`the world process exited with ${code}`));
    }),
  );
  const ask: Ask = (kind, extra) =>
    new Promise((resolve, reject) => {
      next += 1;
      waiting.set(next, { resolve, reject });
      child.send({ id: next, kind, ...extra });
    });
  return { ask, done };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const fmtS = (micros: number): string => `${(micros / 1e6).toFixed(2)} s`;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

interface Sample {
  readonly cpuMicros: number;
  readonly wallMs: number;
  readonly sweep: SweepReport;
  readonly world: WorldCounts;
}

async function measuredSweep(runtime: AppRuntime, ask: Ask, profileAs?: string): Promise<Sample> {
  await ask('counts'); // zero the world's counters
  gc();
  let session: Session | undefined;
  if (profileAs && PROFILE_DIR) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    await ask('profile', { action: 'start' });
  }
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const sweep = await runtime.reconciler.reconcileAll('bench', CONCURRENCY === undefined ? {} : { concurrency: CONCURRENCY });
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - wall;
  if (session && profileAs && PROFILE_DIR) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(path.join(PROFILE_DIR, `${profileAs}-app.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
    await ask('profile', { action: 'stop', file: path.join(PROFILE_DIR, `${profileAs}-world.cpuprofile`) });
  }
  if (sweep.failures.length > 0) throw new Error(`sweep failed: ${JSON.stringify(sweep.failures.slice(0, 3))}`);
  const world = (await ask('counts')).counts!;
  return { cpuMicros: used.user + used.system, wallMs, sweep, world };
}

function perSetCalls(sweep: SweepReport): { uniform: number[]; flexible: number[] } {
  const uniform: number[] = [];
  const flexible: number[] = [];
  for (const r of sweep.reports) (r.scaleSetId.includes('/flex-') ? flexible : uniform).push(r.armCalls);
  return { uniform, flexible };
}

const rangeText = (xs: readonly number[]): string => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? String(lo) : `${lo}–${hi}`;
};

async function main(): Promise<void> {
  const { ask, done } = startWorld();
  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-bench-'));
  const runtimes: AppRuntime[] = [];
  try {
    const setup = await ask('setup', { spec: SPEC });
    const caFile = path.join(dir, 'arm-ca.pem');
    writeFileSync(caFile, setup.caPem!);
    const env = {
      VMSS_MESH_SUBSCRIPTIONS: SUBSCRIPTION,
      VMSS_MESH_RESOURCE_GROUPS: RESOURCE_GROUP,
      VMSS_MESH_ARM_ENDPOINT: setup.armUrl!,
      VMSS_MESH_ARM_TOKEN: 'bench-token',
      VMSS_MESH_ARM_CA_FILE: caFile,
      CONSUL_HTTP_ADDR: setup.consulUrl!,
    };
    const newRuntime = (): AppRuntime => {
      const r = createAppRuntime(loadConfig(env));
      runtimes.push(r);
      return r;
    };
    const instances = SPEC.sets * SPEC.perSet;
    console.log(`world: ${SPEC.sets} scale sets × ${SPEC.perSet} (${Math.ceil(SPEC.sets / 2)} Uniform, ${Math.floor(SPEC.sets / 2)} Flexible), one resource group, ARM pages of ${SPEC.pageSize}; ${RUNS} runs each${CONCURRENCY === undefined ? '' : `; sweep concurrency ${CONCURRENCY}`}`);

    // (b) First sweep: a fresh runtime (a new worker) and an empty Consul every run.
    const first: Sample[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      await ask('resetConsul');
      const runtime = newRuntime();
      first.push(await measuredSweep(runtime, ask, i === RUNS - 1 ? 'first-sweep' : undefined));
      runtime.close();
      process.stdout.write(`  first sweep ${i + 1}/${RUNS}: ${fmtS(first.at(-1)!.cpuMicros)} CPU\n`);
    }
    const registered = first.at(-1)!.sweep.totals.registered;
    if (registered !== instances) throw new Error(`the first sweep registered ${registered} of ${instances} instances`);

    // (a) Nothing changed: the last first-sweep's Consul stays; one warm runtime sweeps it again.
    const runtime = newRuntime();
    await measuredSweep(runtime, ask); // warm-up (JIT, connections, the resolver's cache)
    const steady: Sample[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      steady.push(await measuredSweep(runtime, ask, i === RUNS - 1 ? 'timer-sweep' : undefined));
      const t = steady.at(-1)!.sweep.totals;
      if (t.registered + t.updated + t.deregistered > 0) throw new Error(`a sweep of an unchanged world changed something: ${JSON.stringify(t)}`);
      process.stdout.write(`  timer sweep ${i + 1}/${RUNS}: ${fmtS(steady.at(-1)!.cpuMicros)} CPU\n`);
    }

    const figures = [...steadyFigures(steady), ...firstFigures(first, instances)];
    printTable(figures);
    console.log(`results: ${writeResults('reconcile', figures)}`);
  } finally {
    for (const r of runtimes) r.close();
    await ask('close').catch(() => undefined);
    await done.catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function steadyFigures(samples: readonly Sample[]): Figure[] {
  const cpu = median(samples.map((s) => s.cpuMicros));
  const last = samples.at(-1)!;
  const calls = perSetCalls(last.sweep);
  const arm = median(samples.map((s) => s.world.armRequests));
  const writes = median(samples.map((s) => s.world.consul.writes));
  const sets = last.sweep.reports.length;
  const bytesPerSet = median(samples.map((s) => s.world.consul.consistentReadBytes)) / sets;
  // Means, not medians: a shared listing of the resource group is paid by one Flexible set and used by others.
  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const uniformCalls = mean(calls.uniform);
  const flexibleCalls = mean(calls.flexible);
  const name = `Timer sweep ${SPEC.sets}×${SPEC.perSet}, nothing changed`;
  return [
    {
      figure: `${name}: CPU`,
      goal: '≤ 1 s CPU',
      measured: `${fmtS(cpu)} (median of ${samples.length}; wall ${(median(samples.map((s) => s.wallMs)) / 1000).toFixed(2)} s; world process ${fmtS(median(samples.map((s) => s.world.worldCpuMicros)))})`,
      verdict: cpu <= 1e6 ? 'met' : 'missed',
      value: cpu / 1e6,
      unit: 's',
      details: { cpuSeconds: samples.map((s) => s.cpuMicros / 1e6), wallMs: samples.map((s) => Math.round(s.wallMs)), worldCpuSeconds: samples.map((s) => s.world.worldCpuMicros / 1e6) },
    },
    {
      figure: `${name}: ARM reads per set`,
      goal: 'independent of what else is in the resource group (a Flexible set ≈ a Uniform set)',
      measured: `${arm} in total; Uniform set ${rangeText(calls.uniform)} (mean ${uniformCalls.toFixed(1)}), Flexible set ${rangeText(calls.flexible)} (mean ${flexibleCalls.toFixed(1)})`,
      verdict: flexibleCalls <= uniformCalls * 1.25 ? 'met' : 'missed',
      value: arm,
      unit: 'requests',
      details: { byRoute: last.world.armByRoute, perSetUniform: calls.uniform, perSetFlexible: calls.flexible, sweepTotal: last.sweep.totals.armCalls },
    },
    {
      figure: `${name}: Consul writes`,
      goal: `only changes or a summary: ≤ 1 per set (${sets})`,
      measured: `${writes} (${Object.entries(last.world.consul.writesByKind).map(([k, v]) => `${v}× ${k}`).join(', ') || 'none'})`,
      verdict: writes <= sets ? 'met' : 'missed',
      value: writes,
      unit: 'requests',
      details: { writesByKind: last.world.consul.writesByKind, txnOpsByVerb: last.world.consul.txnOpsByVerb },
    },
    {
      figure: `${name}: consistent reads per set`,
      goal: 'info',
      measured: `${(bytesPerSet / 1024).toFixed(1)} KB per set (${last.world.consul.consistentReads} consistent reads in all)`,
      verdict: 'info',
      value: Math.round(bytesPerSet),
      unit: 'bytes',
      details: { readsByKind: last.world.consul.readsByKind, readBytes: last.world.consul.readBytes, readBytesByKind: last.world.consul.readBytesByKind },
    },
  ];
}

function firstFigures(samples: readonly Sample[], instances: number): Figure[] {
  const cpu = median(samples.map((s) => s.cpuMicros));
  const last = samples.at(-1)!;
  const consul = last.world.consul;
  const ops = consul.txnOps.reduce((a, b) => a + b, 0);
  const floor = Math.ceil((instances * 4) / 64);
  const name = `First sweep, ${instances.toLocaleString('en')} new instances`;
  return [
    {
      figure: `${name}: CPU`,
      goal: '≤ 2 s CPU',
      measured: `${fmtS(cpu)} (median of ${samples.length}; wall ${(median(samples.map((s) => s.wallMs)) / 1000).toFixed(2)} s; world process ${fmtS(median(samples.map((s) => s.world.worldCpuMicros)))})`,
      verdict: cpu <= 2e6 ? 'met' : 'missed',
      value: cpu / 1e6,
      unit: 's',
      details: { cpuSeconds: samples.map((s) => s.cpuMicros / 1e6), wallMs: samples.map((s) => Math.round(s.wallMs)), worldCpuSeconds: samples.map((s) => s.world.worldCpuMicros / 1e6) },
    },
    {
      figure: `${name}: ARM reads`,
      goal: 'info (as the timer sweep)',
      measured: `${last.world.armRequests}`,
      verdict: 'info',
      value: last.world.armRequests,
      unit: 'requests',
      details: { byRoute: last.world.armByRoute, perSet: perSetCalls(last.sweep) },
    },
    {
      figure: `${name}: txn calls`,
      goal: `at the 64-op floor (4 ops per instance: ${floor} calls)`,
      measured: `${consul.txnCalls} calls, ${(ops / Math.max(1, consul.txnCalls)).toFixed(1)} ops each (${ops} ops; ${consul.writes} writes in all)`,
      verdict: consul.txnCalls <= floor ? 'met' : 'missed',
      value: consul.txnCalls,
      unit: 'calls',
      details: { txnOpsByVerb: consul.txnOpsByVerb, writesByKind: consul.writesByKind, opsPerCallMax: Math.max(0, ...consul.txnOps) },
    },
  ];
}

function printTable(figures: readonly Figure[]): void {
  const rows = figures.map((f) => [f.figure, f.goal, f.measured, f.verdict]);
  const widths = [0, 1, 2, 3].map((i) => Math.min(70, Math.max(...rows.map((r) => r[i]!.length), ['figure', 'goal', 'measured', 'verdict'][i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  console.log(`\n${line(['figure', 'goal', 'measured', 'verdict'])}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}`);
  for (const r of rows) console.log(line(r));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
