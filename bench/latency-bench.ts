/**
 * Handler → clients latency (issue 12): a scale-out of one instance, from the Event Grid handler's
 * start until 100 SotW streams on the relay have received (and ACKed) endpoints that include the
 * new instance — once with the relay as the app's push target ("via push"; the relay still watches
 * Consul, whichever arrives first wins) and once with no push target ("via Consul watch only").
 *
 * The pieces are the project's own: the ARM emulator (instances are created at once), the Consul
 * double, the relay (startRelay, default settings: 50 ms coalescing, 200 ms watch interval; in a
 * process of its own, relay-latency-child.ts, as deployed: next to the gateway), the
 * app runtime's reconciler (createAppRuntime: ARM over HTTPS, Consul over HTTP, the gRPC push
 * client) and the handler's own steps (classifyEvent, then reconcileHint, as vmssEvents does;
 * each mode has its own runtime, built and warmed before anything is measured). The 100 streams
 * run in a client worker process (relay-bench-clients.ts), which stamps each endpoint response
 * on arrival; the stamps are compared with the handler's start on the same machine clock.
 *
 * Rounds alternate push / watch (one warm-up round each, then --rounds each); figures are the
 * median over rounds of each round's p50 and p99.
 *
 *   node --expose-gc --import tsx bench/latency-bench.ts [--rounds 7] [--streams 100]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createAppRuntime, type AppRuntime } from '../src/functions/app-runtime';
import { startArmEmulator, type ArmOperationRecord } from '../src/sandbox/arm-emulator';
import { startConsulDouble } from '../src/sandbox/consul-double';
import { seededRandom, toEventGridEvent } from '../src/sandbox/event-grid';
import { loadConfig } from '../src/shared/config';
import { classifyEvent } from '../src/shared/events/delivery';
import { ClientFleet } from './relay-bench-clients';
import type { FromRelay, ToRelay } from './relay-latency-child';
import { writeResults, type Figure } from './results';

const SUBSCRIPTION = '00000000-0000-0000-0000-00000000b001';
const GROUP = 'bench-rg';
const SERVICE = 'web';
const TOKEN = 'bench-push-token';
const selector = { subscriptionId: SUBSCRIPTION, resourceGroup: GROUP, name: SERVICE };

type Mode = 'push' | 'watch';

interface RoundResult {
  readonly mode: Mode;
  readonly handlerMs: number;
  /** Handler start → the relay published the new instance. */
  readonly publishedMs: number;
  /** What the relay served the new instance from when it published it. */
  readonly servedFrom: 'push' | 'consul';
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

const wallNow = (): number => performance.timeOrigin + performance.now();

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, streams: { type: 'string', default: '100' } } });
  const rounds = Number(values.rounds);
  const streams = Number(values.streams);
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(streams) || streams < 1) throw new TypeError('--rounds and --streams must be whole numbers ≥ 1');

  const cleanups: Array<() => unknown> = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-latency-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const pending: ArmOperationRecord[] = [];
    const arm = await startArmEmulator({ world: { lifecycle: { createDelayMs: 0 } }, rateLimits: false, onOperation: (op) => pending.push(op) });
    cleanups.push(() => arm.close());
    const consul = await startConsulDouble();
    cleanups.push(() => consul.close());
    // The relay in its own process, as deployed; it reports its publishes.
    const relayProcess = fork(path.join(__dirname, 'relay-latency-child.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_SERVICE: SERVICE, BENCH_TOKEN: TOKEN, BENCH_CONSUL: consul.url },
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if (relayProcess.exitCode !== null) return resolve();
          relayProcess.once('exit', () => resolve());
          relayProcess.send({ type: 'exit' } satisfies ToRelay);
        }),
    );
    let onPublished: (message: Extract<FromRelay, { type: 'published' }>) => void = () => undefined;
    const stateWaiters: Array<(state: Extract<FromRelay, { type: 'state' }>) => void> = [];
    const xdsAddress = await new Promise<string>((resolve, reject) => {
      relayProcess.on('message', (message: FromRelay) => {
        if (message.type === 'ready') resolve(message.xdsAddress);
        else if (message.type === 'published') onPublished(message);
        else stateWaiters.shift()?.(message);
      });
      relayProcess.once('exit', (code) => reject(new Error(`the relay exited with ${code}`)));
    });
    const relayState = (): Promise<Extract<FromRelay, { type: 'state' }>> =>
      new Promise((resolve) => {
        stateWaiters.push(resolve);
        relayProcess.send({ type: 'state' } satisfies ToRelay);
      });

    const caFile = path.join(dir, 'arm-ca.pem');
    writeFileSync(caFile, arm.caPem);
    const settings = (relayAddresses: string): Record<string, string> => ({
      VMSS_MESH_SUBSCRIPTIONS: SUBSCRIPTION,
      VMSS_MESH_RESOURCE_GROUPS: GROUP,
      VMSS_MESH_ARM_ENDPOINT: arm.url,
      VMSS_MESH_ARM_TOKEN: 'bench-token',
      VMSS_MESH_ARM_CA_FILE: caFile,
      CONSUL_HTTP_ADDR: consul.url,
      VMSS_MESH_RELAY_ADDRESSES: relayAddresses,
      VMSS_MESH_RELAY_TOKEN: relayAddresses ? TOKEN : '',
    });
    const runtimes: Record<Mode, AppRuntime> = {
      push: createAppRuntime(loadConfig(settings(xdsAddress))),
      watch: createAppRuntime(loadConfig(settings(''))),
    };
    cleanups.push(() => {
      runtimes.push.close();
      runtimes.watch.close();
    });
    const random = seededRandom(12);
    /** What vmssEvents does with each event (less its log lines). */
    const handle = async (runtime: AppRuntime, operations: readonly ArmOperationRecord[]): Promise<void> => {
      for (const operation of operations) {
        const outcome = classifyEvent(toEventGridEvent(operation, random), { matcher: runtime.scopeMatcher });
        if (outcome.kind === 'hint') await runtime.reconciler.reconcileHint(outcome.hint);
      }
    };

    arm.world.createResourceGroup(SUBSCRIPTION, GROUP);
    let capacity = 3;
    arm.world.createScaleSet({ ...selector, capacity, tags: { 'vmss-mesh-service': SERVICE, 'vmss-mesh-port': '8080', 'vmss-mesh-protocol': 'grpc' } });
    await handle(runtimes.push, pending.splice(0));
    await waitUntilAsync(async () => (await relayState()).endpoints === capacity, 30_000, 'the relay serves the first instances');

    // Stamps of each stream's endpoint responses, by version.
    const arrivals = new Map<string, Map<number, number>>();
    let onArrival: () => void = () => undefined;
    const fleet = await ClientFleet.start(xdsAddress, {
      streams,
      perConnection: 10,
      workers: 1,
      names: [SERVICE],
      onEndpoints: (stream, version, at) => {
        let byStream = arrivals.get(version);
        if (!byStream) arrivals.set(version, (byStream = new Map()));
        byStream.set(stream, at);
        onArrival();
      },
    });
    cleanups.push(() => fleet.close());

    const round = async (mode: Mode): Promise<RoundResult> => {
      // Settled: every stream has the current version and the relay has nothing pending.
      await waitUntilAsync(
        async () => {
          const state = await relayState();
          return state.pushedServices === 0 && (arrivals.get(state.version)?.size ?? 0) === streams;
        },
        30_000,
        'settled before a round',
      );
      await new Promise((resolve) => setTimeout(resolve, 300)); // the watch's next query is in flight again
      const target = capacity + 1;
      let published: { at: number; version: string; from: 'push' | 'consul' } | undefined;
      onPublished = (message) => {
        if (published || message.endpoints !== target) return;
        published = { at: message.at, version: message.version, from: message.pushed ? 'push' : 'consul' };
        onArrival();
      };
      const startedAt = wallNow();
      arm.world.scale(selector, target);
      await handle(runtimes[mode], pending.splice(0));
      const handlerMs = wallNow() - startedAt;
      capacity = target;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${mode}: not every stream got the new instance within 30 s`)), 30_000);
        onArrival = () => {
          if (published && (arrivals.get(published.version)?.size ?? 0) === streams) {
            clearTimeout(timer);
            onArrival = () => undefined;
            resolve();
          }
        };
        onArrival();
      });
      onPublished = () => undefined;
      const times = [...arrivals.get(published!.version)!.values()].map((at) => at - startedAt).sort((a, b) => a - b);
      return { mode, handlerMs, publishedMs: published!.at - startedAt, servedFrom: published!.from, p50: percentile(times, 50), p99: percentile(times, 99), max: times[times.length - 1]! };
    };

    await round('push'); // warm-up: connections, JIT
    await round('watch');
    const results: RoundResult[] = [];
    for (let r = 0; r < rounds; r++) for (const mode of ['push', 'watch'] as const) results.push(await round(mode));

    console.log(`Handler → ${streams} SotW streams ACKed, scale-out of 1 instance (${rounds} rounds per mode, alternating; after one warm-up each)`);
    console.log('  mode   handler   relay published  p50       p99       max       served from');
    for (const r of results) {
      console.log(`  ${r.mode.padEnd(6)} ${r.handlerMs.toFixed(1).padStart(6)} ms ${r.publishedMs.toFixed(1).padStart(9)} ms    ${r.p50.toFixed(1).padStart(6)} ms ${r.p99.toFixed(1).padStart(6)} ms ${r.max.toFixed(1).padStart(6)} ms  ${r.servedFrom}`);
    }
    const of = (mode: Mode) => results.filter((r) => r.mode === mode);
    const summary = (mode: Mode) => ({
      p50: median(of(mode).map((r) => r.p50)),
      p99: median(of(mode).map((r) => r.p99)),
      handler: median(of(mode).map((r) => r.handlerMs)),
      published: median(of(mode).map((r) => r.publishedMs)),
      fanOut: median(of(mode).map((r) => r.p99 - r.publishedMs)),
    });
    const push = summary('push');
    const watch = summary('watch');
    const pushWins = of('push').filter((r, i) => r.p99 < of('watch')[i]!.p99).length;
    console.log(`  median: push p50 ${push.p50.toFixed(1)} / p99 ${push.p99.toFixed(1)} ms (handler ${push.handler.toFixed(1)} ms, published after ${push.published.toFixed(1)} ms)`);
    console.log(`          watch p50 ${watch.p50.toFixed(1)} / p99 ${watch.p99.toFixed(1)} ms (handler ${watch.handler.toFixed(1)} ms, published after ${watch.published.toFixed(1)} ms)`);
    console.log(`  push faster than watch in ${pushWins} of ${rounds} paired rounds; the relay's part (publish → p99 of the streams): push ${push.fanOut.toFixed(1)} ms, watch ${watch.fanOut.toFixed(1)} ms`);

    const figures: Figure[] = [
      {
        figure: `Handler → ${streams} SotW streams ACKed, scale-out of 1 instance, via push: p99`,
        goal: '≤ 50 ms',
        measured: `p99 ${push.p99.toFixed(0)} ms, p50 ${push.p50.toFixed(0)} ms (median of ${rounds}; handler ${push.handler.toFixed(0)} ms; relay published after ${push.published.toFixed(0)} ms, served from ${of('push').filter((r) => r.servedFrom === 'push').length}/${rounds} push)`,
        verdict: push.p99 <= 50 ? 'met' : 'missed',
        value: push.p99,
        unit: 'ms',
        details: { results: of('push') },
      },
      {
        figure: `Same via Consul watch only: push strictly faster`,
        goal: 'push p99 < watch p99',
        measured: `watch p99 ${watch.p99.toFixed(0)} ms, p50 ${watch.p50.toFixed(0)} ms; push faster in ${pushWins}/${rounds} rounds`,
        verdict: push.p99 < watch.p99 && pushWins === rounds ? 'met' : 'missed',
        value: watch.p99,
        unit: 'ms',
        details: { results: of('watch') },
      },
    ];
    console.log(`written: ${writeResults('latency', figures)}`);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error('cleanup failed:', error);
      }
    }
  }
}

/** Polls `condition` every 5 ms (the bench's setup and settling only; rounds are timed by events). */
async function waitUntilAsync(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

main().then(
  () => process.exit(0), // the runtimes' HTTP agents keep sockets alive
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
