/**
 * `vmss-mesh bootstrap envoy|grpc`. The Envoy bootstrap is checked strictly against Envoy's own
 * envoy.config.bootstrap.v3.Bootstrap in the proto3 JSON mapping Envoy parses it with (Durations
 * as "1s", Any as {"@type", …}, Struct as free JSON): any field the protos do not know, a
 * deprecated field, two members of one oneof or a wrongly typed value fails. The gRPC bootstrap
 * goes through @grpc/grpc-js-xds's own bootstrap validator.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as protobuf from 'protobufjs';
import { validateBootstrapConfig } from '@grpc/grpc-js-xds/build/src/xds-bootstrap';
import { envoyBootstrap, grpcBootstrap, RELAY_CLUSTER } from '../../src/cli/bootstrap';
import { profileOfNode } from '../../src/relay/ads/profile';
import { envoyRoot } from '../../src/relay/xds/envoy-protos';
import { spawnCli } from '../helpers/cli-run';

const cli = (args: string[]) => spawnCli(args);

// ---- proto3 JSON, strictly -------------------------------------------------------------------

const WRAPPERS: Readonly<Record<string, string>> = {
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.DoubleValue': 'double',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkScalar(type: string, value: unknown, path: string, problems: string[]): void {
  const integer = (v: unknown, unsigned: boolean, wide: boolean) =>
    (typeof v === 'number' && Number.isInteger(v) && (!unsigned || v >= 0)) || (wide && typeof v === 'string' && (unsigned ? /^\d+$/ : /^-?\d+$/).test(v));
  const ok =
    type === 'string' ? typeof value === 'string'
    : type === 'bool' ? typeof value === 'boolean'
    : type === 'bytes' ? typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)
    : type === 'double' || type === 'float' ? typeof value === 'number'
    : ['int32', 'sint32', 'sfixed32'].includes(type) ? integer(value, false, false)
    : ['uint32', 'fixed32'].includes(type) ? integer(value, true, false)
    : ['int64', 'sint64', 'sfixed64'].includes(type) ? integer(value, false, true)
    : ['uint64', 'fixed64'].includes(type) ? integer(value, true, true)
    : false;
  if (!ok) problems.push(`${path}: ${JSON.stringify(value)} is not a ${type}`);
}

function checkMessage(type: protobuf.Type, value: unknown, path: string, problems: string[]): void {
  const name = type.fullName;
  if (name === '.google.protobuf.Duration') {
    if (typeof value !== 'string' || !/^-?\d+(\.\d{1,9})?s$/.test(value)) problems.push(`${path}: a Duration is a string like "1.5s", got ${JSON.stringify(value)}`);
    return;
  }
  if (name === '.google.protobuf.Struct') {
    if (!isObject(value)) problems.push(`${path}: a Struct is a JSON object`);
    return;
  }
  if (name === '.google.protobuf.Value') return;
  if (WRAPPERS[name]) return checkScalar(WRAPPERS[name], value, path, problems);
  if (name === '.google.protobuf.Any') {
    if (!isObject(value) || typeof value['@type'] !== 'string') return void problems.push(`${path}: an Any needs "@type"`);
    const typeName = value['@type'].slice(value['@type'].lastIndexOf('/') + 1);
    const inner = envoyRoot().lookup(typeName);
    if (!(inner instanceof protobuf.Type)) return void problems.push(`${path}: unknown @type ${value['@type']}`);
    const { '@type': _ignored, ...fields } = value;
    return checkMessage(inner, fields, path, problems);
  }
  if (!isObject(value)) return void problems.push(`${path}: ${type.fullName} must be a JSON object`);
  const oneofs = new Map<string, string>();
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key] ?? Object.values(type.fields).find((f) => f.options?.json_name === key || camel(f.name) === key);
    const at = `${path}.${key}`;
    if (!field) {
      problems.push(`${at}: ${type.fullName.slice(1)} has no such field`);
      continue;
    }
    if (field.options?.deprecated) problems.push(`${at}: deprecated in ${type.fullName.slice(1)}`);
    if (field.partOf) {
      const other = oneofs.get(field.partOf.name);
      if (other) problems.push(`${at}: oneof ${field.partOf.name} already has ${other}`);
      oneofs.set(field.partOf.name, key);
    }
    field.resolve();
    const one = (item: unknown, itemPath: string) => {
      if (field.resolvedType instanceof protobuf.Enum) {
        const values = field.resolvedType.values;
        if (!(typeof item === 'string' && item in values) && !(typeof item === 'number' && Object.values(values).includes(item))) {
          problems.push(`${itemPath}: ${JSON.stringify(item)} is not a value of ${field.resolvedType.fullName.slice(1)}`);
        }
      } else if (field.resolvedType instanceof protobuf.Type) {
        checkMessage(field.resolvedType, item, itemPath, problems);
      } else {
        checkScalar(field.type, item, itemPath, problems);
      }
    };
    if (field instanceof protobuf.MapField) {
      if (!isObject(v)) problems.push(`${at}: a map is a JSON object`);
      else for (const [k, item] of Object.entries(v)) one(item, `${at}[${JSON.stringify(k)}]`);
    } else if (field.repeated) {
      if (!Array.isArray(v)) problems.push(`${at}: a repeated field is a JSON array`);
      else v.forEach((item, i) => one(item, `${at}[${i}]`));
    } else {
      one(v, at);
    }
  }
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function bootstrapProblems(document: unknown): string[] {
  const problems: string[] = [];
  checkMessage(envoyRoot().lookupType('envoy.config.bootstrap.v3.Bootstrap'), document, 'bootstrap', problems);
  return problems;
}

// ---- tests -------------------------------------------------------------------------------------

/** The parts of an Envoy bootstrap the tests read. */
interface EnvoyDoc {
  node: { id: string; cluster: string; locality?: { zone: string }; metadata: Record<string, unknown> };
  admin: { address: { socket_address: { address: string; port_value: number } } };
  dynamic_resources: { ads_config: Record<string, unknown> & { api_type: string }; lds_config: unknown; cds_config: unknown };
  static_resources: {
    clusters: Array<{
      name: string;
      type: string;
      load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: unknown } } }> }> };
      typed_extension_protocol_options: Record<string, { explicit_http_config: unknown }>;
    }>;
  };
}

const envoyDoc = (options: Parameters<typeof envoyBootstrap>[0]): EnvoyDoc => envoyBootstrap(options) as unknown as EnvoyDoc;

describe('bootstrap envoy', { concurrency: true }, () => {
  test('the strict checker refuses what Envoy would refuse (so a pass means something)', () => {
    const good = envoyBootstrap({ relay: '10.0.0.5:18000', nodeId: 'gw-1', cluster: 'gw' });
    assert.deepEqual(bootstrapProblems(good), []);
    const spoilt = structuredClone(good) as { node: Record<string, unknown>; dynamic_resources: { ads_config: Record<string, unknown>; lds_config: Record<string, unknown> }; static_resources: { clusters: Array<Record<string, unknown>> } };
    spoilt.node.idd = 'typo';
    spoilt.dynamic_resources.ads_config.api_type = 'DELTA';
    spoilt.dynamic_resources.lds_config.path = '/etc/lds.yaml';
    const cluster = spoilt.static_resources.clusters[0]!;
    cluster.connect_timeout = { seconds: 1 };
    cluster.http2_protocol_options = {};
    (cluster.typed_extension_protocol_options as Record<string, Record<string, unknown>>)['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']!.explicit_http_config = { http2_protocol_options: {}, http_protocol_options: {} };
    assert.deepEqual(bootstrapProblems(spoilt), [
      'bootstrap.node.idd: envoy.config.core.v3.Node has no such field',
      'bootstrap.dynamic_resources.ads_config.api_type: "DELTA" is not a value of envoy.config.core.v3.ApiConfigSource.ApiType',
      'bootstrap.dynamic_resources.lds_config.path: deprecated in envoy.config.core.v3.ConfigSource',
      'bootstrap.dynamic_resources.lds_config.path: oneof config_source_specifier already has ads',
      'bootstrap.static_resources.clusters[0].connect_timeout: a Duration is a string like "1.5s", got {"seconds":1}',
      'bootstrap.static_resources.clusters[0].typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config.http_protocol_options: oneof protocol_config already has http2_protocol_options',
      'bootstrap.static_resources.clusters[0].http2_protocol_options: deprecated in envoy.config.cluster.v3.Cluster',
    ]);
  });

  test('Delta ADS to the relay over an HTTP/2 static cluster; LDS and CDS from ADS; admin on loopback', () => {
    const doc = envoyDoc({ relay: '10.0.0.5:18000', nodeId: 'gw-1', cluster: 'edge', zone: '2' });
    assert.deepEqual(bootstrapProblems(doc), []);
    assert.deepEqual(doc.node, { id: 'gw-1', cluster: 'edge', locality: { zone: '2' }, metadata: { vmss_mesh_profile: 'envoy-gateway' } });
    assert.deepEqual(doc.dynamic_resources.ads_config, {
      api_type: 'DELTA_GRPC',
      transport_api_version: 'V3',
      grpc_services: [{ envoy_grpc: { cluster_name: RELAY_CLUSTER } }],
      set_node_on_first_message_only: true,
    });
    assert.deepEqual(doc.dynamic_resources.lds_config, { ads: {}, resource_api_version: 'V3' });
    assert.deepEqual(doc.dynamic_resources.cds_config, { ads: {}, resource_api_version: 'V3' });
    assert.deepEqual(doc.admin, { address: { socket_address: { address: '127.0.0.1', port_value: 9901 } } });
    const relay = doc.static_resources.clusters[0]!;
    assert.equal(relay.name, RELAY_CLUSTER);
    assert.equal(relay.type, 'STATIC', 'an IP literal needs no DNS');
    assert.deepEqual(relay.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address, { address: '10.0.0.5', port_value: 18000 });
    assert.deepEqual(relay.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']!.explicit_http_config, { http2_protocol_options: {} });
  });

  test('SotW, a DNS relay name, IPv6 admin address: still strictly valid', () => {
    const doc = envoyDoc({ relay: 'relay.mesh.internal:18000', nodeId: 'gw-2', cluster: 'edge', mode: 'sotw', adminAddress: '[::1]:9902' });
    assert.deepEqual(bootstrapProblems(doc), []);
    assert.equal(doc.dynamic_resources.ads_config.api_type, 'GRPC');
    assert.equal(doc.static_resources.clusters[0]!.type, 'STRICT_DNS');
    assert.deepEqual(doc.admin.address.socket_address, { address: '::1', port_value: 9902 });
    assert.equal(doc.node.locality, undefined, 'no zone given: no locality');
  });

  test('the node asks for the envoy-gateway profile by the rule the relay applies first', () => {
    const doc = envoyDoc({ relay: '10.0.0.5:18000', nodeId: 'gw-1', cluster: 'proxyless-looking-name' });
    assert.equal(profileOfNode({ id: doc.node.id, cluster: doc.node.cluster, userAgentName: 'gRPC Node', metadata: doc.node.metadata }), 'envoy-gateway');
  });

  test('the command prints it; flags; usage errors exit 2', async () => {
    const run = await cli(['bootstrap', 'envoy', '--relay', '10.1.0.4:18000', '--node-id', 'gw-9', '--cluster', 'edge', '--zone', '3', '--sotw', '--admin-address', '127.0.0.1:9000']);
    assert.equal(run.stderr, '');
    assert.equal(run.code, 0);
    const doc = JSON.parse(run.stdout) as unknown;
    assert.deepEqual(doc, envoyBootstrap({ relay: '10.1.0.4:18000', nodeId: 'gw-9', cluster: 'edge', zone: '3', mode: 'sotw', adminAddress: '127.0.0.1:9000' }));
    assert.deepEqual(bootstrapProblems(doc), []);

    const aliases = await cli(['bootstrap', 'envoy', '--xds-address', '10.1.0.4:18000', '--node-id', 'gw-9', '--node-cluster', 'edge']);
    assert.equal(aliases.code, 0, aliases.stderr);
    assert.deepEqual(JSON.parse(aliases.stdout), envoyBootstrap({ relay: '10.1.0.4:18000', nodeId: 'gw-9', cluster: 'edge', zone: '' }));
    const twice = await cli(['bootstrap', 'envoy', '--relay', '10.1.0.4:18000', '--xds-address', '10.1.0.5:18000']);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /^vmss-mesh bootstrap envoy: --relay and --xds-address name the same setting; give one\n/);

    const both = await cli(['bootstrap', 'envoy', '--delta', '--sotw']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^vmss-mesh bootstrap envoy: --delta and --sotw exclude each other\n/);
    const badRelay = await cli(['bootstrap', 'envoy', '--relay', 'relay']);
    assert.equal(badRelay.code, 2);
    assert.equal(badRelay.stderr, 'vmss-mesh bootstrap envoy: configuration error: --relay: expected host:port or [ipv6]:port with a port from 0 to 65535, got "relay"\n');
    const portZero = await cli(['bootstrap', 'grpc', '--relay', '127.0.0.1:0']);
    assert.equal(portZero.code, 2);
    assert.equal(portZero.stderr, 'vmss-mesh bootstrap grpc: configuration error: --relay: the relay port must be from 1 to 65535\n');
  });
});

describe('bootstrap grpc', { concurrency: true }, () => {
  test("grpc-js-xds's own bootstrap validator accepts it, and reads what we meant", () => {
    const doc = grpcBootstrap({ relay: '127.0.0.1:18000', nodeId: 'client-1', cluster: 'orders', zone: '1', region: 'westeurope' });
    const info = validateBootstrapConfig(doc);
    assert.equal(info.xdsServers.length, 1);
    assert.equal(info.xdsServers[0]!.server_uri, '127.0.0.1:18000');
    assert.deepEqual(info.xdsServers[0]!.channel_creds.map((c) => c.type), ['insecure']);
    assert.deepEqual(info.xdsServers[0]!.server_features, ['xds_v3']);
    assert.equal(info.node.id, 'client-1');
    assert.equal(info.node.cluster, 'orders');
    assert.deepEqual(info.node.locality, { region: 'westeurope', zone: '1' });
    assert.deepEqual(JSON.parse(JSON.stringify(info.node.metadata)), { fields: { vmss_mesh_profile: { kind: 'stringValue', stringValue: 'proxyless-grpc' } } });
    assert.equal(profileOfNode({ id: 'client-1', cluster: 'gateway-ish', userAgentName: 'envoy', metadata: doc.node.metadata }), 'proxyless-grpc');
  });

  test('the validator is real: it refuses a document without node or locality', () => {
    const doc = grpcBootstrap({ relay: '[::1]:18000', nodeId: 'c', cluster: 'c' });
    assert.equal(doc.xds_servers[0]!.server_uri, '[::1]:18000');
    assert.deepEqual(doc.node.locality, { zone: '' }, 'grpc-js-xds requires a locality, even an empty one');
    const { locality: _locality, ...withoutLocality } = doc.node;
    assert.throws(() => validateBootstrapConfig({ ...doc, node: withoutLocality }), /locality field missing in node element/);
  });

  test('the command prints it', async () => {
    const run = await cli(['bootstrap', 'grpc', '--relay', '10.1.0.4:18000', '--node-id', 'c-7', '--zone', '2']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), grpcBootstrap({ relay: '10.1.0.4:18000', nodeId: 'c-7', cluster: 'vmss-mesh-client', zone: '2', region: '' }));
  });
});
