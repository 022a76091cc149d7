/**
 * A strict check of plain objects against Envoy's .proto types. protobufjs's `verify` and
 * `fromObject` silently ignore keys a type does not have, so a misspelt field would vanish on the
 * way to the wire; this walker reports every key the type does not know, at any depth:
 * nested messages, repeated fields, maps, oneofs (two members set is an error), enums given as
 * names or numbers, scalars of the wrong JS type, and google.protobuf.Any in both plain forms —
 * `{'@type', ...fields}` (what the builders write) and `{type_url, value: bytes}` (what decoding
 * gives) — whose embedded message is looked up by its type URL and checked the same way.
 * Well-known types (Duration, wrappers, Struct/Value) are ordinary messages to the walker.
 *
 * Every assertion here also applies what Envoy itself checks when it loads a resource
 * (./envoy-validate: the protoc-gen-validate rules of the vendored protos and Envoy's semantic
 * checks), so each test that asserts a resource is known to Envoy or accepted by grpc-js-xds also
 * asserts that Envoy would load it. `assertEnvoyLoadsSnapshot` adds the references between the
 * resources of a whole snapshot.
 */
import assert from 'node:assert/strict';
import * as protobuf from 'protobufjs';
// grpc-js-xds's filter module uses proto-loader internals that need the package's own setup first
// (as grpc-js-xds's index does by loading resources.js before anything else).
import '@grpc/grpc-js-xds/build/src/resources';
import { setup as setupRouterFilter } from '@grpc/grpc-js-xds/build/src/http-filter/router-filter';
import { ClusterResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type';
import { EndpointResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/endpoint-resource-type';
import { ListenerResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/listener-resource-type';
import { RouteConfigurationResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/route-config-resource-type';
import type { XdsDecodeContext, XdsResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/xds-resource-type';
import { envoyRoot } from '../../src/relay/xds/envoy-protos';
import type { Snapshot } from '../../src/relay/snapshot/snapshot-types';
import type { ClientProfile } from '../../src/relay/xds/client-profile';
import { kindOfTypeUrl, TYPE_URLS, XDS_KINDS } from '../../src/relay/xds/kinds';
import type { ResourceKind } from '../../src/relay/xds/resource-kind';
import { type EnvoyReport, formatViolation, pgvViolations, shortName, validateBootstrapJson, validateResource, validateSnapshot } from './envoy-validate';

const ANY = '.google.protobuf.Any';
const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function lookupByTypeUrl(typeUrl: string): protobuf.Type | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  if (!typeUrl.includes('/') || name === '') return undefined;
  const found = envoyRoot().lookup(name);
  return found instanceof protobuf.Type ? found : undefined;
}

function isLongLike(value: unknown): boolean {
  return isPlainObject(value) && typeof value.low === 'number' && typeof value.high === 'number';
}

function scalarProblem(type: string, value: unknown): string | undefined {
  const integer = typeof value === 'number' && Number.isInteger(value);
  if (type === 'string') return typeof value === 'string' ? undefined : 'expected a string';
  if (type === 'bool') return typeof value === 'boolean' ? undefined : 'expected a boolean';
  if (type === 'bytes') return value instanceof Uint8Array || typeof value === 'string' ? undefined : 'expected bytes (Uint8Array or base64)';
  if (type === 'double' || type === 'float') {
    return typeof value === 'number' || value === 'NaN' || value === 'Infinity' || value === '-Infinity' ? undefined : 'expected a number';
  }
  if (INT32.has(type)) return integer && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31 ? undefined : 'expected a 32-bit integer';
  if (UINT32.has(type)) return integer && (value as number) >= 0 && (value as number) < 2 ** 32 ? undefined : 'expected an unsigned 32-bit integer';
  if (INT64.has(type) || UINT64.has(type)) {
    const unsigned = UINT64.has(type);
    if (integer) return unsigned && (value as number) < 0 ? 'expected an unsigned integer' : undefined;
    if (typeof value === 'string') return (unsigned ? /^\d+$/ : /^-?\d+$/).test(value) ? undefined : 'expected a decimal integer string';
    return isLongLike(value) ? undefined : 'expected a 64-bit integer';
  }
  return `unsupported scalar type ${type}`;
}

class Walker {
  readonly problems: string[] = [];

  message(type: protobuf.Type, value: unknown, path: string): void {
    if (!isPlainObject(value)) {
      this.problems.push(`${path}: expected a ${type.fullName.slice(1)} object`);
      return;
    }
    if (type.fullName === ANY) {
      this.any(value, path);
      return;
    }
    const oneofMembers = new Map<string, string>();
    for (const [key, fieldValue] of Object.entries(value)) {
      if (fieldValue === undefined) continue;
      const field = type.fields[key];
      if (!field) {
        const oneof = type.oneofs?.[key];
        // toObject({oneofs: true}) adds a virtual key naming the member that is set.
        if (oneof && typeof fieldValue === 'string' && oneof.oneof.includes(fieldValue) && value[fieldValue] !== undefined) continue;
        this.problems.push(`${path}.${key}: ${type.fullName.slice(1)} has no field "${key}"`);
        continue;
      }
      if (fieldValue === null) {
        this.problems.push(`${path}.${key}: null (leave the field out instead)`);
        continue;
      }
      if (field.partOf) {
        const other = oneofMembers.get(field.partOf.name);
        if (other) this.problems.push(`${path}.${key}: oneof ${field.partOf.name} already has ${other}`);
        else oneofMembers.set(field.partOf.name, key);
      }
      this.field(field, fieldValue, `${path}.${key}`);
    }
  }

  private field(field: protobuf.Field, value: unknown, path: string): void {
    field.resolve();
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(value)) {
        this.problems.push(`${path}: expected a map (plain object)`);
        return;
      }
      for (const [key, item] of Object.entries(value)) {
        if (field.keyType !== 'string' && field.keyType !== 'bool' && !/^-?\d+$/.test(key)) this.problems.push(`${path}[${key}]: map key must be an integer`);
        this.single(field, item, `${path}[${JSON.stringify(key)}]`);
      }
    } else if (field.repeated) {
      if (!Array.isArray(value)) {
        this.problems.push(`${path}: expected an array (repeated field)`);
        return;
      }
      value.forEach((item, i) => this.single(field, item, `${path}[${i}]`));
    } else {
      this.single(field, value, path);
    }
  }

  private single(field: protobuf.Field, value: unknown, path: string): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) this.message(resolved, value, path);
    else if (resolved instanceof protobuf.Enum) {
      const known = typeof value === 'string' ? Object.hasOwn(resolved.values, value) : typeof value === 'number' && Object.values(resolved.values).includes(value);
      if (!known) this.problems.push(`${path}: ${JSON.stringify(value)} is not a value of enum ${resolved.fullName.slice(1)}`);
    } else {
      const why = scalarProblem(field.type, value);
      if (why) this.problems.push(`${path}: ${why}, got ${JSON.stringify(value)}`);
    }
  }

  private any(value: Record<string, unknown>, path: string): void {
    const typeUrl = value['@type'];
    if (typeUrl !== undefined) {
      const type = typeof typeUrl === 'string' ? lookupByTypeUrl(typeUrl) : undefined;
      if (!type) {
        this.problems.push(`${path}.@type: ${JSON.stringify(typeUrl)} names no message type in Envoy's protos`);
        return;
      }
      const { '@type': _ignored, ...fields } = value;
      this.message(type, fields, `${path}<${type.fullName.slice(1)}>`);
      return;
    }
    for (const key of Object.keys(value)) {
      if (key !== 'type_url' && key !== 'value' && value[key] !== undefined) this.problems.push(`${path}.${key}: google.protobuf.Any has no field "${key}"`);
    }
    const url = value.type_url;
    const type = typeof url === 'string' ? lookupByTypeUrl(url) : undefined;
    if (!type) {
      this.problems.push(`${path}.type_url: ${JSON.stringify(url)} names no message type in Envoy's protos`);
      return;
    }
    const raw = value.value ?? new Uint8Array();
    const bytes = typeof raw === 'string' ? Buffer.from(raw, 'base64') : raw;
    if (!(bytes instanceof Uint8Array)) {
      this.problems.push(`${path}.value: expected bytes`);
      return;
    }
    let embedded: Record<string, unknown>;
    try {
      embedded = type.toObject(type.decode(bytes), { enums: String, longs: String });
    } catch (error) {
      this.problems.push(`${path}.value: does not decode as ${type.fullName.slice(1)}: ${(error as Error).message}`);
      return;
    }
    this.message(type, embedded, `${path}<${type.fullName.slice(1)}>`);
  }
}

/** Every problem found, each with its path (`Cluster.outlier_detection.intervall: …`); empty = clean. */
export function strictProblems(typeName: string, value: unknown): string[] {
  const walker = new Walker();
  walker.message(envoyRoot().lookupType(typeName), value, shortName(typeName));
  return walker.problems;
}

export function assertKnownToEnvoy(typeName: string, value: unknown): void {
  const problems = strictProblems(typeName, value);
  assert.deepEqual(problems, [], `not a valid ${typeName}:\n  ${problems.join('\n  ')}`);
  const kind = kindOfTypeUrl(`type.googleapis.com/${typeName}`);
  if (kind) assertEnvoyLoads(validateResource(kind, value), `Envoy would refuse this ${typeName}`);
  else assertNoViolations(pgvViolations(typeName, value).map(formatViolation), `Envoy would refuse this ${typeName}`);
}

function assertNoViolations(errors: readonly string[], what: string): void {
  assert.deepEqual(errors, [], `${what}:\n  ${errors.join('\n  ')}`);
}

/** No PGV violation, no semantic error and no warning. */
function assertEnvoyLoads(result: EnvoyReport, what: string): void {
  assertNoViolations([...result.errors, ...result.warnings], what);
}

/** Envoy (and, for proxyless, gRPC) would load every resource of the snapshot, and every reference between them resolves. */
export function assertEnvoyLoadsSnapshot(profile: ClientProfile, snapshot: Snapshot): void {
  assertEnvoyLoads(validateSnapshot(profile, snapshot), `Envoy would refuse the ${profile} snapshot ${snapshot.version}`);
}

/** Envoy would start with this bootstrap (proto3 JSON, as `vmss-mesh bootstrap envoy` prints it). */
export function assertEnvoyLoadsBootstrap(document: unknown): void {
  assertEnvoyLoads(validateBootstrapJson(document), 'Envoy would refuse this bootstrap');
}

// ---------------------------------------------------------------------------------------------
// What the real client accepts: grpc-js-xds's own decoders and validators (the code that decides
// ACK or NACK in @grpc/grpc-js-xds), run on encoded resources without a network.

// The Router filter registers itself in grpc-js-xds's filter registry when the package is set up;
// the listener validator rejects an HttpConnectionManager whose last filter it does not know.
setupRouterFilter();

const GRPC_JS_TYPES: Readonly<Record<ResourceKind, XdsResourceType>> = {
  listener: ListenerResourceType.get(),
  route: RouteConfigurationResourceType.get(),
  cluster: ClusterResourceType.get(),
  endpoint: EndpointResourceType.get(),
};

// Only TLS settings read the bootstrap's certificate providers, and the relay sends none.
const DECODE_CONTEXT = { server: { serverUri: '127.0.0.1:0', channelCreds: [], serverFeatures: [] }, bootstrap: { certificateProviders: {} } } as unknown as XdsDecodeContext;

/** grpc-js-xds's verdict on one encoded resource: the name it read, or its NACK message. */
export function grpcJsDecode(kind: ResourceKind, bytes: Uint8Array): { readonly name: string; readonly error?: string } {
  const result = GRPC_JS_TYPES[kind].decode(DECODE_CONTEXT, { type_url: TYPE_URLS[kind], value: Buffer.from(bytes) });
  return result.error === undefined ? { name: result.name } : { name: result.name, error: result.error };
}

export function assertGrpcJsAccepts(kind: ResourceKind, name: string, bytes: Uint8Array): void {
  const verdict = grpcJsDecode(kind, bytes);
  assert.equal(verdict.error, undefined, `grpc-js-xds rejects ${kind} ${name}: ${verdict.error}`);
  assert.equal(verdict.name, name, `grpc-js-xds reads ${kind} ${name} as ${verdict.name}`);
  const label = `${shortName(XDS_KINDS[kind].typeName)}(${name})`;
  assertEnvoyLoads(validateResource(kind, bytes, label), `Envoy would refuse ${kind} ${name}`);
}
