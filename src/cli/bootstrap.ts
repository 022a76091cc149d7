/**
 * `vmss-mesh bootstrap envoy` and `vmss-mesh bootstrap grpc`: print the bootstrap a data-plane
 * client needs to get its configuration from a relay, as JSON on stdout.
 *
 *  - envoy: an Envoy bootstrap (v3): ADS over gRPC to the relay (Delta by default, SotW with
 *    --sotw), LDS and CDS from ADS, a static cluster for the relay speaking HTTP/2, the admin
 *    listener on loopback, and the node (id, cluster, zone, `vmss_mesh_profile: envoy-gateway`).
 *  - grpc: a GRPC_XDS_BOOTSTRAP document for proxyless gRPC clients (grpc-js-xds, grpc-go, …):
 *    the relay as xDS server (insecure channel, xds_v3) and the node with its locality and
 *    `vmss_mesh_profile: proxyless-grpc`.
 * The profile metadata is what the relay's profile rule (src/relay/ads/profile.ts) reads first.
 */
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { PROFILE_METADATA_KEY } from '../relay/ads/profile';
import { formatHostPort, parseListenAddress, type ListenAddress } from '../relay/relay-config';
import { ConfigError } from '../shared/errors';
import { EXIT, parseArgsOrUsage, UsageError, type CliIo } from './command';

/** Name of the relay's static cluster in Envoy; "_" keeps it apart from every mesh service name. */
export const RELAY_CLUSTER = 'vmss_mesh_relay';
export const DEFAULT_RELAY_ADDRESS = '127.0.0.1:18000';

/** What both bootstraps say about the relay and the node. */
export interface BootstrapNodeOptions {
  /** `host:port` of the relay's gRPC port. */
  readonly relay: string;
  readonly nodeId: string;
  readonly cluster: string;
  /** Azure zone of this node ('' = regional). */
  readonly zone?: string;
}

export interface EnvoyBootstrapOptions extends BootstrapNodeOptions {
  /** Default `delta` (what Envoy prefers). */
  readonly mode?: 'delta' | 'sotw';
  /** Envoy's admin listener; default 127.0.0.1:9901. */
  readonly adminAddress?: string;
  /** connect_timeout of the relay cluster in ms; default 1000. */
  readonly connectTimeoutMs?: number;
}

export interface GrpcBootstrapOptions extends BootstrapNodeOptions {
  readonly region?: string;
}

function relayAddress(raw: string, flag: string): ListenAddress {
  const address = parseListenAddress(raw, flag);
  if (address.port === 0) throw new ConfigError('the relay port must be from 1 to 65535', flag);
  return address;
}

function durationJson(ms: number): string {
  // proto3 JSON mapping of google.protobuf.Duration: seconds with up to 9 fractional digits and "s".
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}

/** The Envoy bootstrap (proto3 JSON of envoy.config.bootstrap.v3.Bootstrap). */
export function envoyBootstrap(options: EnvoyBootstrapOptions): Record<string, unknown> {
  const relay = relayAddress(options.relay, '--relay');
  const admin = parseListenAddress(options.adminAddress ?? '127.0.0.1:9901', '--admin-address');
  const viaAds = () => ({ ads: {}, resource_api_version: 'V3' });
  return {
    node: {
      id: options.nodeId,
      cluster: options.cluster,
      ...(options.zone ? { locality: { zone: options.zone } } : {}),
      metadata: { [PROFILE_METADATA_KEY]: 'envoy-gateway' },
    },
    admin: { address: { socket_address: { address: admin.host, port_value: admin.port } } },
    dynamic_resources: {
      ads_config: {
        api_type: (options.mode ?? 'delta') === 'delta' ? 'DELTA_GRPC' : 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: RELAY_CLUSTER } }],
        set_node_on_first_message_only: true,
      },
      lds_config: viaAds(),
      cds_config: viaAds(),
    },
    static_resources: {
      clusters: [
        {
          name: RELAY_CLUSTER,
          type: isIP(relay.host) ? 'STATIC' : 'STRICT_DNS',
          connect_timeout: durationJson(options.connectTimeoutMs ?? 1000),
          // ADS is a gRPC stream: the relay cluster must speak HTTP/2.
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
          load_assignment: {
            cluster_name: RELAY_CLUSTER,
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: relay.host, port_value: relay.port } } } }] }],
          },
        },
      ],
    },
  };
}

/** The gRPC xDS bootstrap format (gRFC A27), the parts we write. */
export interface GrpcBootstrap {
  readonly xds_servers: ReadonlyArray<{ readonly server_uri: string; readonly channel_creds: ReadonlyArray<{ readonly type: string }>; readonly server_features: readonly string[] }>;
  readonly node: {
    readonly id: string;
    readonly cluster: string;
    readonly locality: { readonly region?: string; readonly zone: string };
    readonly metadata: Readonly<Record<string, string>>;
  };
}

/** A GRPC_XDS_BOOTSTRAP document (save it to a file named by GRPC_XDS_BOOTSTRAP, or put it in GRPC_XDS_BOOTSTRAP_CONFIG). */
export function grpcBootstrap(options: GrpcBootstrapOptions): GrpcBootstrap {
  const relay = relayAddress(options.relay, '--relay');
  return {
    xds_servers: [{ server_uri: formatHostPort(relay.host, relay.port), channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: {
      id: options.nodeId,
      cluster: options.cluster,
      // grpc-js-xds requires a locality; an empty zone means a regional client.
      locality: { ...(options.region ? { region: options.region } : {}), zone: options.zone ?? '' },
      metadata: { [PROFILE_METADATA_KEY]: 'proxyless-grpc' },
    },
  };
}

const COMMON_USAGE = `  --relay HOST:PORT     The relay's gRPC (xDS) address (alias --xds-address). Default: ${DEFAULT_RELAY_ADDRESS}.
  --node-id ID          node.id. Default: this host's name.
  --cluster NAME        node.cluster (alias --node-cluster). Default: %CLUSTER%.
  --zone ZONE           node.locality.zone (the Azure zone, "1", "2" or "3"). Default: none.`;

const ENVOY_USAGE = `Usage: vmss-mesh bootstrap envoy [options]

Prints an Envoy bootstrap (JSON, usable as \`envoy -c FILE\`) that takes listeners, routes,
clusters and endpoints from a vmss-mesh relay over ADS.

Options:
${COMMON_USAGE.replace('%CLUSTER%', 'vmss-mesh-gateway')}
  --delta               Delta ADS (DELTA_GRPC), the default.
  --sotw                State-of-the-world ADS (GRPC).
  --admin-address H:P   Envoy's admin listener. Default: 127.0.0.1:9901.
  -h, --help            Show this help.
`;

const GRPC_USAGE = `Usage: vmss-mesh bootstrap grpc [options]

Prints a GRPC_XDS_BOOTSTRAP document for proxyless gRPC clients (dial \`xds:///SERVICE\`).
Save it to a file and point GRPC_XDS_BOOTSTRAP at it, or put it in GRPC_XDS_BOOTSTRAP_CONFIG.

Options:
${COMMON_USAGE.replace('%CLUSTER%', 'vmss-mesh-client')}
  --region REGION       node.locality.region (the Azure region). Default: none.
  -h, --help            Show this help.
`;

const COMMON_OPTIONS = {
  relay: { type: 'string' },
  'xds-address': { type: 'string' },
  'node-id': { type: 'string' },
  cluster: { type: 'string' },
  'node-cluster': { type: 'string' },
  zone: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse<O extends Record<string, { type: 'string' | 'boolean'; short?: string }>>(args: string[], options: O) {
  return parseArgsOrUsage({ args, options, strict: true, allowPositionals: false }).values;
}

/** A flag that also has an alias (both given is a usage error). */
function either(a: string | undefined, b: string | undefined, flags: string): string | undefined {
  if (a !== undefined && b !== undefined) throw new UsageError(`${flags} name the same setting; give one`);
  return a ?? b;
}

function nonEmpty(value: string | undefined, flag: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (value.trim() === '') throw new UsageError(`${flag} must not be empty`);
  return value.trim();
}

type NodeFlags = { readonly [flag in Exclude<keyof typeof COMMON_OPTIONS, 'help'>]?: string };

/** The relay and node flags of COMMON_OPTIONS, resolved; the node cluster defaults per command. */
function nodeOptions(values: NodeFlags, defaultCluster: string): BootstrapNodeOptions {
  return {
    relay: nonEmpty(either(values.relay, values['xds-address'], '--relay and --xds-address'), '--relay', DEFAULT_RELAY_ADDRESS),
    nodeId: nonEmpty(values['node-id'], '--node-id', hostname()),
    cluster: nonEmpty(either(values.cluster, values['node-cluster'], '--cluster and --node-cluster'), '--cluster', defaultCluster),
    zone: values.zone?.trim() ?? '',
  };
}

function print(io: CliIo, document: object): number {
  io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return EXIT.ok;
}

export async function runEnvoy(args: string[], io: CliIo): Promise<number> {
  const values = parse(args, { ...COMMON_OPTIONS, delta: { type: 'boolean' }, sotw: { type: 'boolean' }, 'admin-address': { type: 'string' } });
  if (values.help) {
    io.stdout.write(ENVOY_USAGE);
    return EXIT.ok;
  }
  if (values.delta && values.sotw) throw new UsageError('--delta and --sotw exclude each other');
  return print(
    io,
    envoyBootstrap({
      ...nodeOptions(values, 'vmss-mesh-gateway'),
      mode: values.sotw ? 'sotw' : 'delta',
      adminAddress: nonEmpty(values['admin-address'], '--admin-address', '127.0.0.1:9901'),
    }),
  );
}

export async function runGrpc(args: string[], io: CliIo): Promise<number> {
  const values = parse(args, { ...COMMON_OPTIONS, region: { type: 'string' } });
  if (values.help) {
    io.stdout.write(GRPC_USAGE);
    return EXIT.ok;
  }
  return print(
    io,
    grpcBootstrap({
      ...nodeOptions(values, 'vmss-mesh-client'),
      region: values.region?.trim() ?? '',
    }),
  );
}
