/**
 * One simulated instance's workload: an HTTP server and a gRPC server on the instance's own
 * loopback address (127.0.x.y), both answering with the instance name so any client can see who
 * served it. The gRPC server speaks the standard grpc.health.v1.Health service and sends the name
 * in the `x-vmss-instance` response metadata.
 */
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { packageFile } from '../../shared/package-files';
import { shutdownGrpcServer } from '../../relay/grpc-shutdown';
import { listen } from '../http/http-io';

export const INSTANCE_METADATA_KEY = 'x-vmss-instance';
/** How long close() lets in-flight gRPC calls finish before it cuts them. */
const SHUTDOWN_GRACE_MS = 2_000;
const HEALTH_PROTO = packageFile('proto/grpc/health/v1/health.proto');

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

export interface DemoBackendOptions {
  readonly instanceName: string;
  /** Loopback IP literal the instance "has". */
  readonly address: string;
  /** Absent = no HTTP server; 0 = any free port. */
  readonly httpPort?: number;
  /** Absent = no gRPC server; 0 = any free port. */
  readonly grpcPort?: number;
}

export interface DemoBackend {
  readonly instanceName: string;
  readonly address: string;
  /** 0 when there is no HTTP server. */
  readonly httpPort: number;
  /** 0 when there is no gRPC server. */
  readonly grpcPort: number;
  /** Requests (HTTP + gRPC) served so far. */
  served(): number;
  /** What the health service answers (the instance's own view; ARM's view is separate). */
  setServing(status: ServingStatus): void;
  /**
   * Fail every `n`th unary gRPC call with UNAVAILABLE (n = 2: every other call, i.e. half of
   * them; 0 = none). The failure is trailers-only (no response headers were sent), so a client
   * with a retry policy may retry it. Calls failed so far: `failedOnPurpose()`.
   */
  setFailEvery(n: number): void;
  failedOnPurpose(): number;
  close(): Promise<void>;
}

let healthService: grpc.ServiceDefinition | undefined;

export function healthServiceDefinition(): grpc.ServiceDefinition {
  if (!healthService) {
    const definition = protoLoader.loadSync(HEALTH_PROTO, { keepCase: false, enums: String, defaults: true });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    healthService = loaded.grpc.health.v1.Health.service;
  }
  return healthService;
}

/** A client constructor for grpc.health.v1.Health (for traffic generators and tests). */
export function healthClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(healthServiceDefinition(), 'Health');
}

export async function startDemoBackend(options: DemoBackendOptions): Promise<DemoBackend> {
  let served = 0;
  let serving: ServingStatus = 'SERVING';
  let failEvery = 0;
  let unaryCalls = 0;
  let failedOnPurpose = 0;
  const watchers = new Set<grpc.ServerWritableStream<unknown, { status: string }>>();
  const closers: Array<() => Promise<void>> = [];
  let httpPort = 0;
  let grpcPort = 0;

  if (options.httpPort !== undefined) {
    const server = http.createServer((req, res) => {
      served += 1;
      const body = JSON.stringify({ instance: options.instanceName, path: req.url, serving });
      res.writeHead(serving === 'SERVING' ? 200 : 503, { 'content-type': 'application/json', [INSTANCE_METADATA_KEY]: options.instanceName });
      res.end(body);
    });
    httpPort = await listen(server, options.address, options.httpPort);
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
  }

  if (options.grpcPort !== undefined) {
    const server = new grpc.Server();
    const metadata = () => {
      const md = new grpc.Metadata();
      md.set(INSTANCE_METADATA_KEY, options.instanceName);
      return md;
    };
    server.addService(healthServiceDefinition(), {
      Check(call: grpc.ServerUnaryCall<{ service: string }, { status: string }>, callback: grpc.sendUnaryData<{ status: string }>) {
        unaryCalls += 1;
        if (failEvery > 0 && unaryCalls % failEvery === 0) {
          failedOnPurpose += 1;
          callback({ code: grpc.status.UNAVAILABLE, details: `${options.instanceName} fails 1 call in ${failEvery} (sandbox fail-half)` });
          return;
        }
        served += 1;
        call.sendMetadata(metadata());
        callback(null, { status: serving });
      },
      Watch(call: grpc.ServerWritableStream<{ service: string }, { status: string }>) {
        served += 1;
        call.sendMetadata(metadata());
        call.write({ status: serving });
        watchers.add(call as grpc.ServerWritableStream<unknown, { status: string }>);
        call.on('cancelled', () => watchers.delete(call as grpc.ServerWritableStream<unknown, { status: string }>));
      },
    });
    try {
      grpcPort = await new Promise<number>((resolve, reject) =>
        server.bindAsync(`${options.address}:${options.grpcPort}`, grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
      );
    } catch (error) {
      // Do not leave the HTTP server of a half-started backend listening.
      await Promise.all(closers.map((c) => c()));
      throw error;
    }
    closers.push(() => {
      for (const w of watchers) w.end();
      // In-flight calls get a moment to finish; a client that keeps a stream open past that
      // must not hold the sandbox (or a test) open.
      return shutdownGrpcServer(server, SHUTDOWN_GRACE_MS);
    });
  }

  return {
    instanceName: options.instanceName,
    address: options.address,
    httpPort,
    grpcPort,
    served: () => served,
    setServing(status) {
      serving = status;
      for (const w of watchers) w.write({ status });
    },
    setFailEvery(n) {
      if (!Number.isInteger(n) || n < 0) throw new TypeError(`setFailEvery takes a whole number 0 or more, got ${String(n)}`);
      failEvery = n;
    },
    failedOnPurpose: () => failedOnPurpose,
    async close() {
      await Promise.all(closers.map((c) => c()));
    },
  };
}
