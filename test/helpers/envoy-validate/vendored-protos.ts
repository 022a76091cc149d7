/**
 * Every v3 .proto file vendored with @grpc/grpc-js-xds (Envoy's API and the xds/udpa protos), in
 * a root of its own: the relay loads only the files it needs, but the rule inventory and the
 * "every rule kind is implemented" check look at all of them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as protobuf from 'protobufjs';
import { ENVOY_PROTO_DIRS, resolveEnvoyProtoPath } from '../../../src/relay/xds/envoy-protos';

function protoFiles(dir: string, base: string, out: string[]): string[] {
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) protoFiles(full, base, out);
    else if (entry.endsWith('.proto')) out.push(path.relative(base, full));
  }
  return out;
}

export interface VendoredProtos {
  readonly root: protobuf.Root;
  readonly files: readonly string[];
  /** Files protobufjs could not load (they import protos the package does not vendor), with why. */
  readonly failed: ReadonlyArray<readonly [string, string]>;
  /** [file, text] of every file. */
  readonly sources: ReadonlyArray<readonly [string, string]>;
}

let loaded: VendoredProtos | undefined;

/** v2 and alpha APIs are left out: Envoy no longer accepts them. Loaded once (about 1.5 s). */
export function loadVendoredProtos(): VendoredProtos {
  loaded ??= load();
  return loaded;
}

function load(): VendoredProtos {
  const [envoyApi, xds] = ENVOY_PROTO_DIRS as [string, string, ...string[]];
  const files = [...protoFiles(path.join(envoyApi, 'envoy'), envoyApi, []), ...protoFiles(path.join(xds, 'xds'), xds, []), ...protoFiles(path.join(xds, 'udpa'), xds, [])]
    .filter((f) => !/\/(v2|v\d+alpha\d*)\//.test(f))
    .sort();
  const root = new protobuf.Root();
  root.resolvePath = resolveEnvoyProtoPath;
  const failed: Array<[string, string]> = [];
  for (const file of files) {
    try {
      root.loadSync(file, { keepCase: true });
    } catch (error) {
      failed.push([file, (error as Error).message]);
    }
  }
  const sources = files.map((file) => [file, readFileSync(root.resolvePath('', file) ?? file, 'utf8')] as const);
  return { root, files, failed, sources };
}
