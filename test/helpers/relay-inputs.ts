/**
 * Builders shared by the relay input tests: endpoint sets, a publisher that records what the
 * MeshStateStore publishes and lets a test wait for a condition on it (no fixed sleeps).
 */
import type { EndpointHealth, MeshEndpoint, ServiceEndpointSet } from '../../src/shared/endpoints';
import type { PublishInfo } from '../../src/relay/inputs/mesh-state-store';
import type { MeshState } from '../../src/relay/mesh-state';

export function endpoint(address: string, options: Partial<MeshEndpoint> = {}): MeshEndpoint {
  return { address, port: 8080, zone: '1', health: 'passing' as EndpointHealth, weight: 1, instanceName: `vm-${address}`, ...options };
}

export function endpointSet(service: string, consulIndex: number, endpoints: readonly MeshEndpoint[], protocol = 'http'): ServiceEndpointSet {
  return { service, consulIndex, protocol, endpoints };
}

export interface Recorder {
  readonly publish: (state: MeshState, info: PublishInfo) => void;
  readonly states: MeshState[];
  readonly infos: PublishInfo[];
  /** Resolves with the first published state (from now on, or the latest already published) that satisfies `predicate`. */
  waitFor(predicate: (state: MeshState) => boolean, timeoutMs?: number, what?: string): Promise<MeshState>;
}

export function recordingPublisher(): Recorder {
  const states: MeshState[] = [];
  const infos: PublishInfo[] = [];
  const waiters = new Set<(state: MeshState) => void>();
  return {
    states,
    infos,
    publish(state, info) {
      states.push(state);
      infos.push(info);
      for (const wake of [...waiters]) wake(state);
    },
    waitFor(predicate, timeoutMs = 5_000, what = 'condition') {
      return new Promise((resolve, reject) => {
        const latest = states.at(-1);
        if (latest && predicate(latest)) return resolve(latest);
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${what} not published within ${timeoutMs} ms; last state: ${describe(states.at(-1))}`));
        }, timeoutMs);
        const check = (state: MeshState) => {
          if (!predicate(state)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(state);
        };
        waiters.add(check);
      });
    },
  };
}

/** `service@index: address/health ...` per service, for assertions and messages. */
export function describe(state: MeshState | undefined): string {
  if (!state) return '(nothing published)';
  return JSON.stringify(summary(state));
}

export function summary(state: MeshState): Record<string, string[]> {
  return Object.fromEntries([...state.services].map(([name, set]) => [name, set.endpoints.map((e) => `${e.address}:${e.port}/${e.health}`)]));
}

/** Resolves when `predicate()` holds, re-checking whenever `subscribe` reports a change. */
export function until(predicate: () => boolean, subscribe: (wake: () => void) => () => void, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve();
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${what} not met within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = subscribe(() => {
      if (!predicate()) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}
