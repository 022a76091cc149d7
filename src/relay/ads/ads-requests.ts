/**
 * Decodes ADS requests (envoy.service.discovery.v3.DiscoveryRequest / DeltaDiscoveryRequest) with
 * Envoy's own protos into small typed objects. Decoding never throws: grpc-js ends a call whose
 * deserializer throws without telling the handler, so a malformed message becomes a value the
 * stream answers with INVALID_ARGUMENT itself.
 */
import type * as protobuf from 'protobufjs';
import { envoyType } from '../xds/envoy-protos';
import { PROFILE_METADATA_KEY } from './profile';

/**
 * The parts of `envoy.config.core.v3.Node` the relay uses, and nothing else: a client's node can
 * be megabytes (Envoy's extension list, arbitrary metadata), and a stream keeps its node.
 */
export interface NodeIdentity {
  readonly id: string;
  readonly cluster: string;
  readonly userAgentName: string;
  /** `node.metadata` (a google.protobuf.Struct) as plain JSON values: only the keys in NODE_METADATA_KEYS. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** The `node.metadata` keys the relay reads (profile.ts); every other key is dropped when decoded. */
export const NODE_METADATA_KEYS: readonly string[] = [PROFILE_METADATA_KEY];

/** UTF-8 bytes of what a stream keeps of a node (its id, cluster, user agent and kept metadata). */
export function keptNodeBytes(node: NodeIdentity): number {
  let bytes = Buffer.byteLength(node.id) + Buffer.byteLength(node.cluster) + Buffer.byteLength(node.userAgentName);
  for (const [key, value] of Object.entries(node.metadata)) bytes += Buffer.byteLength(key) + Buffer.byteLength(JSON.stringify(value) ?? '');
  return bytes;
}

export interface ErrorDetail {
  readonly code: number;
  readonly message: string;
}

/** What a DiscoveryRequest and a DeltaDiscoveryRequest both carry. */
export interface RequestCommon {
  readonly node?: NodeIdentity;
  readonly typeUrl: string;
  readonly responseNonce: string;
  /** Present ⇔ the request is a NACK. */
  readonly errorDetail?: ErrorDetail;
}

export interface SotwRequest extends RequestCommon {
  readonly mode: 'sotw';
  readonly versionInfo: string;
  readonly resourceNames: readonly string[];
}

export interface DeltaRequest extends RequestCommon {
  readonly mode: 'delta';
  readonly subscribe: readonly string[];
  readonly unsubscribe: readonly string[];
  readonly initialResourceVersions: ReadonlyMap<string, string>;
}

export interface MalformedRequest {
  readonly mode: 'malformed';
  readonly error: string;
}

let sotwType: protobuf.Type | undefined;
let deltaType: protobuf.Type | undefined;

function discoveryRequestType(): protobuf.Type {
  return (sotwType ??= envoyType('envoy.service.discovery.v3.DiscoveryRequest'));
}

function deltaDiscoveryRequestType(): protobuf.Type {
  return (deltaType ??= envoyType('envoy.service.discovery.v3.DeltaDiscoveryRequest'));
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false, arrays: true };

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * google.protobuf.Value → JSON value. protobufjs defines the well-known types itself, with
 * camelCase field names even under keepCase; the snake_case spellings are accepted too.
 */
function structValue(value: unknown): unknown {
  if (!isObj(value)) return null;
  const field = (camel: string, snake: string): unknown => (camel in value ? value[camel] : value[snake]);
  const stringValue = field('stringValue', 'string_value');
  if (stringValue !== undefined) return str(stringValue);
  const numberValue = field('numberValue', 'number_value');
  if (numberValue !== undefined) return Number(numberValue);
  const boolValue = field('boolValue', 'bool_value');
  if (boolValue !== undefined) return boolValue === true;
  const structV = field('structValue', 'struct_value');
  if (structV !== undefined) return structFields(structV);
  const listValue = field('listValue', 'list_value');
  if (listValue !== undefined) {
    const list = isObj(listValue) ? listValue.values : undefined;
    return Array.isArray(list) ? list.map(structValue) : [];
  }
  return null;
}

/** google.protobuf.Struct → plain object. */
function structFields(struct: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = isObj(struct) ? struct.fields : undefined;
  if (isObj(fields)) {
    for (const [key, value] of Object.entries(fields)) out[key] = structValue(value);
  }
  return out;
}

function nodeOf(value: unknown): NodeIdentity | undefined {
  if (!isObj(value)) return undefined;
  const fields = isObj(value.metadata) && isObj(value.metadata.fields) ? value.metadata.fields : {};
  const metadata: Record<string, unknown> = {};
  for (const key of NODE_METADATA_KEYS) {
    if (Object.hasOwn(fields, key)) metadata[key] = structValue(fields[key]);
  }
  return { id: str(value.id), cluster: str(value.cluster), userAgentName: str(value.user_agent_name), metadata };
}

function errorDetailOf(value: unknown): ErrorDetail | undefined {
  if (!isObj(value)) return undefined;
  return { code: typeof value.code === 'number' ? value.code : 0, message: str(value.message) };
}

function decodeObject(type: protobuf.Type, buffer: Uint8Array): Obj | string {
  try {
    return type.toObject(type.decode(buffer), TO_OBJECT);
  } catch (error) {
    return `cannot decode ${type.name}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The common fields of either request (an absent node or error detail stays absent). */
function commonOf(obj: Obj): RequestCommon {
  const node = nodeOf(obj.node);
  const errorDetail = errorDetailOf(obj.error_detail);
  return { ...(node ? { node } : {}), typeUrl: str(obj.type_url), responseNonce: str(obj.response_nonce), ...(errorDetail ? { errorDetail } : {}) };
}

export function decodeSotwRequest(buffer: Uint8Array): SotwRequest | MalformedRequest {
  const obj = decodeObject(discoveryRequestType(), buffer);
  if (typeof obj === 'string') return { mode: 'malformed', error: obj };
  return { mode: 'sotw', ...commonOf(obj), versionInfo: str(obj.version_info), resourceNames: strings(obj.resource_names) };
}

export function decodeDeltaRequest(buffer: Uint8Array): DeltaRequest | MalformedRequest {
  const obj = decodeObject(deltaDiscoveryRequestType(), buffer);
  if (typeof obj === 'string') return { mode: 'malformed', error: obj };
  const initial = new Map<string, string>();
  if (isObj(obj.initial_resource_versions)) {
    for (const [name, version] of Object.entries(obj.initial_resource_versions)) initial.set(name, str(version));
  }
  return {
    mode: 'delta',
    ...commonOf(obj),
    subscribe: strings(obj.resource_names_subscribe),
    unsubscribe: strings(obj.resource_names_unsubscribe),
    initialResourceVersions: initial,
  };
}
