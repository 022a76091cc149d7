/**
 * The JSON fields the double reads from request bodies, per Consul struct, and the check that
 * refuses any other. Real Consul decodes these bodies with Go's encoding/json (agent/http.go
 * decodeBody → lib.DecodeJSON, no DisallowUnknownFields), so it ignores unknown fields, and it
 * honours fields the double does not model (Proxy, Connect, Namespace, …). The double answers both
 * with 400 so that a misspelt or unsupported field fails a test instead of being dropped. Field
 * names match case-insensitively, as Go's decoder matches them. Map-valued fields (Meta, NodeMeta,
 * TaggedAddresses) and a check's Definition are kept as given: their keys are data, not fields.
 */
import { OpError } from './catalog-kv-state';

export interface StructSpec {
  /** The Go type named in messages, e.g. `structs.RegisterRequest`. */
  readonly goType: string;
  /** Fields the double reads (or, like CreateIndex, ignores exactly as Consul does). */
  readonly fields: readonly string[];
  /** Consul fields the double does not model. */
  readonly notModelled?: readonly string[];
  /** Nested structs (objects) and lists of structs, checked in turn. */
  readonly nested?: Readonly<Record<string, StructSpec>>;
  readonly lists?: Readonly<Record<string, StructSpec>>;
}

const WEIGHTS: StructSpec = { goType: 'structs.Weights', fields: ['Passing', 'Warning'] };

const ENTERPRISE = ['Namespace', 'Partition'];

export const NODE_SERVICE_SPEC: StructSpec = {
  goType: 'structs.NodeService',
  fields: ['ID', 'Service', 'Tags', 'Address', 'Meta', 'Port', 'Weights', 'EnableTagOverride', 'CreateIndex', 'ModifyIndex'],
  notModelled: ['Kind', 'TaggedAddresses', 'SocketPath', 'Proxy', 'Connect', 'LocallyRegisteredAsSidecar', 'Locality', 'PeerName', 'Datacenter', 'ContentHash', ...ENTERPRISE],
  nested: { Weights: WEIGHTS },
};

/** HealthCheck: ServiceName and ServiceTags are accepted because Consul overwrites them from the service. */
export const HEALTH_CHECK_SPEC: StructSpec = {
  goType: 'structs.HealthCheck',
  fields: ['Node', 'CheckID', 'Name', 'Status', 'Notes', 'Output', 'ServiceID', 'ServiceName', 'ServiceTags', 'Type', 'Definition', 'CreateIndex', 'ModifyIndex'],
  notModelled: ['Interval', 'Timeout', 'ExposedPort', 'PeerName', ...ENTERPRISE],
};

export const NODE_SPEC: StructSpec = {
  goType: 'structs.Node',
  fields: ['ID', 'Node', 'Address', 'Datacenter', 'TaggedAddresses', 'Meta', 'CreateIndex', 'ModifyIndex'],
  notModelled: ['Locality', 'PeerName', 'Partition'],
};

export const REGISTER_SPEC: StructSpec = {
  goType: 'structs.RegisterRequest',
  fields: ['Datacenter', 'ID', 'Node', 'Address', 'TaggedAddresses', 'NodeMeta', 'Service', 'Check', 'Checks', 'SkipNodeUpdate'],
  notModelled: ['Token', 'Locality', 'PeerName', ...ENTERPRISE],
  nested: { Service: NODE_SERVICE_SPEC, Check: HEALTH_CHECK_SPEC },
  lists: { Checks: HEALTH_CHECK_SPEC },
};

export const DEREGISTER_SPEC: StructSpec = {
  goType: 'structs.DeregisterRequest',
  fields: ['Datacenter', 'Node', 'ServiceID', 'CheckID'],
  notModelled: ['Token', 'PeerName', ...ENTERPRISE],
};

export const TXN_OP_SPEC: StructSpec = {
  goType: 'api.TxnOp',
  fields: ['KV', 'Node', 'Service', 'Check'],
  notModelled: ['Session', 'Intention'],
  nested: {
    KV: { goType: 'api.KVTxnOp', fields: ['Verb', 'Key', 'Value', 'Flags', 'Index'], notModelled: ['Session', ...ENTERPRISE] },
    Node: { goType: 'api.NodeTxnOp', fields: ['Verb', 'Node'], nested: { Node: NODE_SPEC } },
    Service: { goType: 'api.ServiceTxnOp', fields: ['Verb', 'Node', 'Service'], nested: { Service: NODE_SERVICE_SPEC } },
    Check: { goType: 'api.CheckTxnOp', fields: ['Verb', 'Check'], nested: { Check: HEALTH_CHECK_SPEC } },
  },
};

/** Throws a 400 `OpError` (`<prefix>: …`) for the first field of `value` outside `spec`. Non-objects are left to the decoder. */
export function checkFields(value: unknown, spec: StructSpec, prefix: string, path = ''): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const find = (names: readonly string[] | undefined, key: string): string | undefined => names?.find((n) => n.toLowerCase() === key.toLowerCase());
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    const at = `${path}${key}`;
    const known = find(spec.fields, key);
    if (known === undefined) {
      if (find(spec.notModelled, key) !== undefined) {
        throw new OpError(`${prefix}: field ${JSON.stringify(at)} of ${spec.goType} is not implemented by the Consul double`, 400);
      }
      throw new OpError(
        `${prefix}: unknown field ${JSON.stringify(at)} in ${spec.goType} (real Consul ignores unknown fields; the Consul double refuses them so a misspelt one fails the test)`,
        400,
      );
    }
    const nested = spec.nested?.[known];
    if (nested) checkFields(inner, nested, prefix, `${at}.`);
    const listed = spec.lists?.[known];
    if (listed && Array.isArray(inner)) inner.forEach((item, i) => checkFields(item, listed, prefix, `${at}[${i}].`));
  }
}
