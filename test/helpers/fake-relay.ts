/**
 * A stand-in for the relay's push API on 127.0.0.1:0, following the contract in push.proto:
 * bearer token required, older-than-held consul_index ignored, unknown services created.
 * It records every accepted push so tests can assert what reached "the data plane".
 */
import * as grpc from '@grpc/grpc-js';
import { endpointPushService, type WirePushRequest, type WirePushResponse, type WireServiceEndpoints } from '../../src/relay/push/push-proto';

export interface FakeRelay {
  readonly address: string;
  readonly held: Map<string, WireServiceEndpoints>;
  readonly requests: WirePushRequest[];
  /** Resolves when `predicate` holds for the held state (checked after every push). */
  waitFor(predicate: (held: Map<string, WireServiceEndpoints>) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeRelay(token: string): Promise<FakeRelay> {
  const held = new Map<string, WireServiceEndpoints>();
  const requests: WirePushRequest[] = [];
  const waiters = new Set<() => void>();
  const server = new grpc.Server();
  server.addService(endpointPushService().service, {
    pushEndpoints(
      call: grpc.ServerUnaryCall<WirePushRequest, WirePushResponse>,
      callback: grpc.sendUnaryData<WirePushResponse>,
    ) {
      if (call.metadata.get('authorization')[0] !== `Bearer ${token}`) {
        callback({ code: grpc.status.UNAUTHENTICATED, details: 'push token missing or wrong' });
        return;
      }
      requests.push(call.request);
      const results = call.request.services.map((set) => {
        const current = held.get(set.service);
        if (current && current.consulIndex > set.consulIndex) {
          return { service: set.service, outcome: 'OUTCOME_IGNORED_STALE' as const, currentIndex: current.consulIndex };
        }
        held.set(set.service, set);
        return { service: set.service, outcome: current ? ('OUTCOME_ACCEPTED' as const) : ('OUTCOME_CREATED' as const), currentIndex: set.consulIndex };
      });
      callback(null, { results });
      for (const wake of [...waiters]) wake();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, boundPort) => (error ? reject(error) : resolve(boundPort))),
  );
  return {
    address: `127.0.0.1:${port}`,
    held,
    requests,
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        if (predicate(held)) return resolve();
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake relay: condition not met within ${timeoutMs} ms; held ${JSON.stringify([...held.keys()])}`));
        }, timeoutMs);
        const check = () => {
          if (predicate(held)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
      });
    },
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
