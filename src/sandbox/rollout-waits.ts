/**
 * The waits of a sandbox rollout, each on a condition with a deadline: a poll (`waitFor`), every
 * proxyless client of a service having ACKed data that satisfies a check (`clientsHave`, also used
 * by the scenario for the retry policy), and one health check straight to an instance.
 */
import * as grpc from '@grpc/grpc-js';
import type { Relay } from '../relay/relay';
import type { ServiceEndpointSet } from '../shared/endpoints';
import { healthClientConstructor } from './backends/demo-backend';

/** One grpc.health.v1 Check straight to an instance (not through the mesh). */
export function healthCheck(address: string, port: number): Promise<boolean> {
  const Health = healthClientConstructor();
  const client = new Health(`${address}:${port}`, grpc.credentials.createInsecure());
  return new Promise<boolean>((resolve) => {
    (client as unknown as { Check: (r: { service: string }, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, res?: { status?: string }) => void) => void }).Check({ service: '' }, { deadline: Date.now() + 2_000 }, (error, response) => resolve(!error && response?.status === 'SERVING'));
  }).finally(() => client.close());
}

/**
 * Resolves with the time once the relay's published data for `service` satisfies `holds` and
 * every proxyless client of the service has ACKed a snapshot built from such data (the listener,
 * or the route configuration in RDS mode, carries the service's routes).
 */
export async function clientsHave(relay: Relay, service: string, holds: (set: ServiceEndpointSet) => boolean, what: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  const good = new Set<string>();
  const check = () => {
    const set = relay.meshState.published()?.services.get(service);
    if (set && holds(set)) good.add(relay.snapshots.current('proxyless-grpc').version);
  };
  const unsubscribe = relay.snapshots.onChange(check);
  try {
    check();
    await waitFor(timeoutMs, `the relay's clients of ${service} have ${what}`, () => {
      if (good.size === 0) return false;
      const clients = relay.ads.clients().filter((c) => c.profile === 'proxyless-grpc' && subscribes(c.subscriptions.listener, service));
      return clients.every((c) => {
        const kind = c.lastSentVersion.route !== undefined ? 'route' : 'listener';
        const acked = c.lastAckedVersion[kind];
        return acked !== undefined && good.has(acked);
      });
    }, signal);
    return Date.now();
  } finally {
    unsubscribe();
  }
}

function subscribes(names: readonly string[] | '*' | undefined, service: string): boolean {
  return names === '*' || (names?.includes(service) ?? false);
}

/** Polls `condition` (sync or async) every 20 ms until it holds; throws naming `what` after `timeoutMs` or once `signal` aborts. */
export async function waitFor(timeoutMs: number, what: string, condition: () => boolean | Promise<boolean>, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw new Error(`${what}: stopped (the sandbox is closing)`);
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
