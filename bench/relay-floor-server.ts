/**
 * The grpc-js floor for the ADS fan-out bench: a bare grpc-js server on the same ADS method that
 * answers each subscription with pre-encoded responses and, on `broadcast`, writes one
 * pre-encoded response (the same bytes the relay sends for the change) to every stream, then
 * times each stream's ACK. No snapshots, no per-stream state beyond the call: what is left is
 * grpc-js, HTTP/2 and decoding the requests, which the relay pays too.
 */
import * as grpc from '@grpc/grpc-js';
import { envoyType } from '../src/relay/xds/envoy-protos';

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

interface RequestEnvelope {
  type_url: string;
  response_nonce: string;
}

export interface FloorServer {
  readonly port: number;
  /** Streams that have had their first responses. */
  streams(): number;
  /** Responses not yet ACKed (all streams). */
  outstanding(): number;
  /** Time of the last request or response (performance.now()). */
  lastEventAt(): number;
  /**
   * Writes `response` (whose nonce is `nonce`) to every stream; resolves with the ms from the start
   * of the writes to each stream's ACK of it, and when the last write returned.
   */
  broadcast(response: Buffer, nonce: string): Promise<{ ackMs: number[]; lastWriteMs: number; bytes: number }>;
  close(): void;
}

/** `initial`: the response per type URL a new subscription gets (the relay's bytes for it). */
export async function startFloorServer(options: grpc.ServerOptions, initial: ReadonlyMap<string, Buffer>): Promise<FloorServer> {
  const requestType = envoyType('envoy.service.discovery.v3.DiscoveryRequest');
  const calls = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
  let outstanding = 0;
  let lastEventAt = performance.now();
  let waiting: { nonce: string; startedAt: number; ackMs: number[]; done: () => void } | undefined;
  const server = new grpc.Server(options);
  const passthrough = (b: Buffer): Buffer => b;
  server.addService(
    {
      StreamAggregatedResources: {
        path: `/${SERVICE}/StreamAggregatedResources`,
        requestStream: true,
        responseStream: true,
        requestSerialize: passthrough,
        requestDeserialize: passthrough,
        responseSerialize: passthrough,
        responseDeserialize: passthrough,
      },
    },
    {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        calls.add(call);
        call.on('data', (buffer: Buffer) => {
          lastEventAt = performance.now();
          const request = requestType.decode(buffer) as unknown as RequestEnvelope;
          if (!request.response_nonce) {
            const response = initial.get(request.type_url);
            if (!response) return;
            outstanding++;
            call.write(response);
            return;
          }
          outstanding--;
          if (waiting && request.response_nonce === waiting.nonce) {
            waiting.ackMs.push(performance.now() - waiting.startedAt);
            if (waiting.ackMs.length === calls.size) waiting.done();
          }
        });
        call.on('error', () => undefined);
        call.on('close', () => calls.delete(call));
        call.on('end', () => calls.delete(call));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    port,
    streams: () => calls.size,
    outstanding: () => outstanding,
    lastEventAt: () => lastEventAt,
    broadcast(response, nonce) {
      return new Promise((resolve) => {
        const ackMs: number[] = [];
        const startedAt = performance.now();
        let lastWriteMs = 0;
        waiting = { nonce, startedAt, ackMs, done: () => resolve({ ackMs, lastWriteMs, bytes: response.length * calls.size }) };
        for (const call of calls) {
          outstanding++;
          call.write(response);
        }
        lastWriteMs = performance.now() - startedAt;
      });
    },
    close() {
      for (const call of calls) call.end();
      server.forceShutdown();
    },
  };
}
