/**
 * Envoy's own .proto definitions (shipped inside @grpc/grpc-js-xds under deps/), loaded once.
 * Every resource the relay emits is encoded with these types, so a field Envoy does not know
 * cannot reach a client; the ADS service definition comes from the same files.
 */
import { accessSync } from 'node:fs';
import path from 'node:path';
import * as protobuf from 'protobufjs';

const DEPS = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

/** Include directories for Envoy's protos and their imports. */
export const ENVOY_PROTO_DIRS: readonly string[] = [
  ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(DEPS, d)),
  // google/protobuf/descriptor.proto (the other well-known types are built into protobufjs)
  path.dirname(require.resolve('protobufjs/package.json')),
];

/** The files whose types the relay uses (their imports come along). */
export const ENVOY_PROTO_FILES: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/core/v3/health_check.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  // HTTP/2 towards gRPC backends behind the Envoy gateway (Cluster.typed_extension_protocol_options)
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
];

/** A protobufjs `Root.resolvePath` that looks an import up in ENVOY_PROTO_DIRS, in order. */
export function resolveEnvoyProtoPath(_origin: string, target: string): string {
  if (path.isAbsolute(target)) return target;
  for (const dir of ENVOY_PROTO_DIRS) {
    const candidate = path.join(dir, target);
    try {
      accessSync(candidate);
      return candidate;
    } catch {
      // try the next include directory
    }
  }
  return target;
}

let root: protobuf.Root | undefined;

/** The loaded, resolved root (cached). */
export function envoyRoot(): protobuf.Root {
  if (!root) {
    const loaded = new protobuf.Root();
    loaded.resolvePath = resolveEnvoyProtoPath;
    loaded.loadSync([...ENVOY_PROTO_FILES], { keepCase: true });
    loaded.resolveAll();
    root = loaded;
  }
  return root;
}

/** A message type by full name, e.g. `envoy.config.cluster.v3.Cluster`. */
export function envoyType(fullName: string): protobuf.Type {
  return envoyRoot().lookupType(fullName);
}

/** `type.googleapis.com/<full name>`. */
export function typeUrlOf(fullName: string): string {
  return `type.googleapis.com/${fullName}`;
}
