/**
 * The relay for bench/latency-bench.ts, in a process of its own as in a deployment (the relay runs
 * next to the gateway, not in the Functions app): startRelay with default settings, following the
 * given Consul and taking pushes with the given token. Tells its parent over IPC when it is
 * listening and every time it publishes (when, which version, how many endpoints the watched
 * service has, and whether a push overlay serves it), and answers state queries.
 */
import pino from 'pino';
import { startRelay } from '../src/relay/relay';
import { loadRelayConfig } from '../src/relay/relay-config';

export type FromRelay =
  | { type: 'ready'; xdsAddress: string }
  | { type: 'published'; at: number; version: string; endpoints: number; pushed: boolean }
  | { type: 'state'; version: string; endpoints: number; pushedServices: number };
export type ToRelay = { type: 'state' } | { type: 'exit' };

async function main(): Promise<void> {
  const service = process.env.BENCH_SERVICE!;
  const relay = await startRelay(
    loadRelayConfig({
      VMSS_MESH_RELAY_LISTEN: '127.0.0.1:0',
      VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:0',
      VMSS_MESH_RELAY_TOKEN: process.env.BENCH_TOKEN!,
      CONSUL_HTTP_ADDR: process.env.BENCH_CONSUL!,
      VMSS_MESH_LOG_LEVEL: 'error',
    }),
    { log: pino({ level: 'silent' }), processMetrics: false },
  );
  const send = (message: FromRelay): void => void process.send!(message);
  relay.snapshots.onChange(() =>
    send({
      type: 'published',
      at: performance.timeOrigin + performance.now(),
      version: relay.snapshots.current('proxyless-grpc').version,
      endpoints: relay.meshState.get(service)?.endpoints.length ?? 0,
      pushed: relay.meshState.pushedServices().includes(service),
    }),
  );
  process.on('message', (message: ToRelay) => {
    if (message.type === 'state') {
      send({ type: 'state', version: relay.snapshots.current('proxyless-grpc').version, endpoints: relay.meshState.get(service)?.endpoints.length ?? 0, pushedServices: relay.meshState.pushedServices().length });
    } else {
      void relay.close().finally(() => process.exit(0));
    }
  });
  await relay.ready;
  send({ type: 'ready', xdsAddress: relay.xdsAddress });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
