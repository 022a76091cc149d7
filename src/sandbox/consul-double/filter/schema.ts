/**
 * What a filter may select on each kind of record, as bexpr derives it from the Go type Consul
 * filters (field names, nesting and kinds). The selectors and their operations are the ones the
 * "Filtering" tables of Consul's API docs list (website/content/api-docs/health.mdx, catalog.mdx);
 * a field the docs do not list is refused as `Selector "…" is not valid`, the stricter choice.
 */

export type FieldType =
  | { readonly kind: 'string' | 'int' | 'bool' }
  | { readonly kind: 'struct'; readonly fields: Readonly<Record<string, StructField>> }
  /** map[string]value */
  | { readonly kind: 'map'; readonly value: FieldType }
  | { readonly kind: 'slice'; readonly elem: FieldType };

export interface StructField {
  readonly type: FieldType;
  /** The JSON key when it differs from the Go field name (e.g. ServiceAddress's `address`). */
  readonly json?: string;
}

export type StructType = Extract<FieldType, { kind: 'struct' }>;

const string: FieldType = { kind: 'string' };
const int: FieldType = { kind: 'int' };
const bool: FieldType = { kind: 'bool' };
const stringMap: FieldType = { kind: 'map', value: string };
const stringList: FieldType = { kind: 'slice', elem: string };

function struct(fields: Readonly<Record<string, FieldType | StructField>>): StructType {
  return {
    kind: 'struct',
    fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, 'type' in v ? v : { type: v }])),
  };
}

const weights = struct({ Passing: int, Warning: int });
const meshGateway = struct({ Mode: string });
const serviceAddress = struct({ Address: { type: string, json: 'address' }, Port: { type: int, json: 'port' } });
const serviceTaggedAddresses: FieldType = { kind: 'map', value: serviceAddress };
const connect = struct({ Native: bool });
const upstream = struct({
  Datacenter: string,
  DestinationName: string,
  DestinationNamespace: string,
  DestinationType: string,
  LocalBindAddress: string,
  LocalBindPort: int,
  MeshGateway: meshGateway,
});
const proxy = struct({
  DestinationServiceID: string,
  DestinationServiceName: string,
  LocalServiceAddress: string,
  LocalServicePort: int,
  Mode: string,
  TransparentProxy: struct({ OutboundListenerPort: int }),
  MeshGateway: meshGateway,
  Upstreams: { kind: 'slice', elem: upstream },
});

/** The node fields that structs.Node and structs.ServiceNode both lead with. */
const NODE_IDENTITY = { ID: string, Node: string, Address: string, Datacenter: string, TaggedAddresses: stringMap };

/** structs.Node: `/v1/catalog/nodes` entries and `Node` of health entries. */
export const NODE: StructType = struct({
  ...NODE_IDENTITY,
  Meta: stringMap,
});

/** structs.NodeService: `Service` of health entries; `/v1/catalog/node/:node` services. */
export const NODE_SERVICE: StructType = struct({
  Kind: string,
  ID: string,
  Service: string,
  Tags: stringList,
  Address: string,
  TaggedAddresses: serviceTaggedAddresses,
  Meta: stringMap,
  Port: int,
  Weights: weights,
  EnableTagOverride: bool,
  Proxy: proxy,
  Connect: connect,
});

/** structs.HealthCheck: `/v1/health/node|checks|state` entries and `Checks` of health entries. */
export const HEALTH_CHECK: StructType = struct({
  Node: string,
  CheckID: string,
  Name: string,
  Status: string,
  Notes: string,
  Output: string,
  ServiceID: string,
  ServiceName: string,
  ServiceTags: stringList,
});

/** structs.CheckServiceNode: `/v1/health/service/:name` entries. */
export const CHECK_SERVICE_NODE: StructType = struct({
  Node: NODE,
  Service: NODE_SERVICE,
  Checks: { kind: 'slice', elem: HEALTH_CHECK },
});

/** structs.ServiceNode: `/v1/catalog/service/:name` entries (and what `/v1/catalog/services` filters). */
export const SERVICE_NODE: StructType = struct({
  ...NODE_IDENTITY,
  NodeMeta: stringMap,
  ServiceKind: string,
  ServiceID: string,
  ServiceName: string,
  ServiceTags: stringList,
  ServiceAddress: string,
  ServiceTaggedAddresses: serviceTaggedAddresses,
  ServiceWeights: weights,
  ServiceMeta: stringMap,
  ServicePort: int,
  ServiceEnableTagOverride: bool,
  ServiceProxy: proxy,
  ServiceConnect: connect,
});
