/**
 * Checks Envoy makes when it loads configuration, beyond protoc-gen-validate. Each cites where
 * Envoy does it (envoyproxy/envoy, paths as of the 1.3x releases) with the message Envoy gives.
 *
 * The input is plain decoded objects (protobufjs `toObject` with enums as names, defaults left
 * out); google.protobuf.Any stays `{type_url, value}` and is unpacked here.
 *
 * Severity: `error` = Envoy (or, for the proxyless profile, gRPC) refuses the resource or the
 * bootstrap, or it breaks a policy of the relay's own (the message says so); `warning` = accepted,
 * but traffic fails (e.g. a route to a cluster that does not exist answers 503).
 */
import * as protobuf from 'protobufjs';
import type { ClientProfile } from '../../../src/relay/xds/client-profile';
import type { ResourceKind } from '../../../src/relay/xds/resource-kind';

export type Plain = Readonly<Record<string, unknown>>;

export interface Finding {
  readonly severity: 'error' | 'warning';
  readonly path: string;
  /** Short name of the check (`hcm.router_last`, …). */
  readonly check: string;
  readonly message: string;
}

export function formatFinding(f: Finding): string {
  return `${f.path}: ${f.message} [${f.check}${f.severity === 'warning' ? ', warning' : ''}]`;
}

const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';
const HTTP_PROTOCOL_OPTIONS_TYPE = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
/** Network filters Envoy marks terminal (isTerminalFilterByProto) that may appear here. */
const TERMINAL_NETWORK_FILTERS = new Set([HCM_TYPE, 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy']);

function record(value: unknown): Plain | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) ? (value as Plain) : undefined;
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function typeNameOf(any: Plain | undefined): string {
  const url = text(any?.type_url ?? any?.['@type']);
  return url.slice(url.lastIndexOf('/') + 1);
}

/** An Any's contents as a plain object, in either form (`{type_url, value}` or `{'@type', ...fields}`). */
export function unpackAny(root: protobuf.Root, any: Plain | undefined): { readonly typeName: string; readonly value: Plain } | undefined {
  if (!any) return undefined;
  const typeName = typeNameOf(any);
  const type = typeName ? root.lookup(typeName) : null;
  if (!(type instanceof protobuf.Type)) return undefined;
  if (typeof any['@type'] === 'string') {
    const { '@type': _ignored, ...fields } = any;
    return { typeName, value: type.toObject(type.fromObject(fields), { enums: String, longs: String }) };
  }
  const bytes = any.value instanceof Uint8Array ? any.value : new Uint8Array();
  return { typeName, value: type.toObject(type.decode(bytes), { enums: String, longs: String }) };
}

/** JSON with sorted keys, so equal messages compare equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const r = record(value);
  if (r) return `{${Object.keys(r).sort().map((k) => `${JSON.stringify(k)}:${canonical(r[k])}`).join(',')}}`;
  return JSON.stringify(value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value);
}

function nanos(duration: unknown): bigint | undefined {
  const d = record(duration);
  if (!d) return undefined;
  return BigInt(String(d.seconds ?? 0)) * 1_000_000_000n + BigInt(Number(d.nanos ?? 0));
}

export class SemanticChecker {
  readonly findings: Finding[] = [];

  constructor(
    private readonly root: protobuf.Root,
    private readonly profile: ClientProfile | 'bootstrap',
  ) {}

  private error(path: string, check: string, message: string): void {
    this.findings.push({ severity: 'error', path, check, message });
  }

  private warning(path: string, check: string, message: string): void {
    this.findings.push({ severity: 'warning', path, check, message });
  }

  resource(kind: ResourceKind, resource: Plain, path: string): void {
    if (kind === 'listener') this.listener(resource, path);
    else if (kind === 'route') this.routeConfiguration(resource, path);
    else if (kind === 'cluster') this.cluster(resource, path);
  }

  /** Every HttpConnectionManager of a listener, with its path. */
  hcmsOf(listener: Plain, path: string): Array<{ readonly hcm: Plain; readonly path: string }> {
    const found: Array<{ hcm: Plain; path: string }> = [];
    const api = record(record(listener.api_listener)?.api_listener);
    const apiHcm = unpackAny(this.root, api);
    if (apiHcm?.typeName === HCM_TYPE) found.push({ hcm: apiHcm.value, path: `${path}.api_listener.api_listener<${HCM_TYPE}>` });
    const chains: Array<[unknown, string]> = list(listener.filter_chains).map((c, i) => [c, `${path}.filter_chains[${i}]`]);
    if (listener.default_filter_chain) chains.push([listener.default_filter_chain, `${path}.default_filter_chain`]);
    for (const [chain, chainPath] of chains) {
      list(record(chain)?.filters).forEach((filter, i) => {
        const unpacked = unpackAny(this.root, record(record(filter)?.typed_config));
        if (unpacked?.typeName === HCM_TYPE) found.push({ hcm: unpacked.value, path: `${chainPath}.filters[${i}].typed_config<${HCM_TYPE}>` });
      });
    }
    return found;
  }

  private listener(listener: Plain, path: string): void {
    const chains: Array<[unknown, string]> = list(listener.filter_chains).map((c, i) => [c, `${path}.filter_chains[${i}]`]);
    if (listener.default_filter_chain) chains.push([listener.default_filter_chain, `${path}.default_filter_chain`]);
    for (const [chain, chainPath] of chains) {
      const filters = list(record(chain)?.filters);
      // Envoy: Config::Utility::validateTerminalFilters (source/common/config/utility.h), called by
      // the listener's filter chain factory: "Error: terminal filter named X of type Y must be the
      // last filter in a network filter chain." / "non-terminal filter named X … is the last filter".
      filters.forEach((filter, i) => {
        const type = typeNameOf(record(record(filter)?.typed_config));
        const terminal = TERMINAL_NETWORK_FILTERS.has(type);
        const last = i === filters.length - 1;
        if (terminal && !last) this.error(`${chainPath}.filters[${i}]`, 'listener.terminal_filter_last', `terminal filter ${text(record(filter)?.name)} of type ${type} must be the last filter in a network filter chain`);
        if (!terminal && last) this.error(`${chainPath}.filters[${i}]`, 'listener.terminal_filter_last', `non-terminal filter ${text(record(filter)?.name)} of type ${type || '(none)'} is the last filter in a network filter chain`);
      });
    }
    // Envoy: FilterChainManagerImpl::addFilterChains (source/common/listener_manager/filter_chain_manager_impl.cc):
    // "error adding listener 'X': multiple filter chains with the same matching rules are defined".
    const matches = new Map<string, number>();
    list(listener.filter_chains).forEach((chain, i) => {
      const key = canonical(record(chain)?.filter_chain_match ?? {});
      const first = matches.get(key);
      if (first !== undefined) this.error(`${path}.filter_chains[${i}].filter_chain_match`, 'listener.filter_chain_match_unique', `multiple filter chains with the same matching rules are defined (same as filter_chains[${first}])`);
      else matches.set(key, i);
    });
    for (const { hcm, path: hcmPath } of this.hcmsOf(listener, path)) this.httpConnectionManager(hcm, hcmPath);
  }

  private httpConnectionManager(hcm: Plain, path: string): void {
    const filters = list(hcm.http_filters);
    // Envoy: HttpConnectionManagerConfig (source/extensions/filters/network/http_connection_manager/config.cc)
    // runs Config::Utility::validateTerminalFilters over http_filters: "Error: terminal filter named
    // envoy.filters.http.router of type envoy.filters.http.router must be the last filter in a http
    // filter chain." and, for a chain ending in anything else, "non-terminal filter … is the last
    // filter in a http filter chain". grpc-js-xds likewise NACKs a chain whose last filter is not the Router.
    // Envoy runs that check per filter, so it accepts an empty chain (and then routes no request);
    // gRPC's A39 (xDS HTTP filter support) makes the router required and last, so proxyless
    // clients refuse it.
    if (filters.length === 0) {
      const at = `${path}.http_filters`;
      if (this.profile === 'proxyless-grpc') this.error(at, 'hcm.router_last', 'no HTTP filters: gRPC A39 requires the router (envoy.filters.http.router) as the last filter');
      else this.warning(at, 'hcm.router_last', 'no HTTP filters: Envoy accepts the chain, but without the router (envoy.filters.http.router) no request is forwarded');
    }
    filters.forEach((filter, i) => {
      const type = typeNameOf(record(record(filter)?.typed_config));
      const isRouter = type === ROUTER_TYPE;
      const last = i === filters.length - 1;
      if (isRouter && !last) this.error(`${path}.http_filters[${i}]`, 'hcm.router_last', `terminal filter ${text(record(filter)?.name)} of type ${type} must be the last filter in a http filter chain`);
      if (!isRouter && last) this.error(`${path}.http_filters[${i}]`, 'hcm.router_last', `non-terminal filter ${text(record(filter)?.name)} of type ${type || '(no typed_config)'} is the last filter in a http filter chain`);
    });
    const rds = record(hcm.rds);
    if (rds) this.configSource(record(rds.config_source), `${path}.rds.config_source`);
    const inline = record(hcm.route_config);
    if (inline) this.routeConfiguration(inline, `${path}.route_config`);
  }

  /**
   * The relay serves everything over one ADS stream, so every config source of a resource must be
   * `ads` (or `self`, the server the resource came from): the relay's own policy (Envoy would
   * follow another source; grpc-js-xds NACKs an RDS source that is neither). Envoy: a config
   * source naming `ads` without `ads_config` in the bootstrap fails with "ADS must be configured to
   * support an ADS config source" (NullGrpcMuxImpl::addWatch,
   * source/extensions/config_subscription/grpc/grpc_mux_impl.cc). resource_api_version may be V3
   * or AUTO ("When not specified, we assume v3; it is the only supported version",
   * config_source.proto); V2 is "no longer supported" there, a deprecated enum value.
   */
  private configSource(source: Plain | undefined, path: string): void {
    if (!source) {
      this.error(path, 'config_source.ads', 'missing: the resource must come from the relay over ADS');
      return;
    }
    if (!record(source.ads) && !record(source.self)) {
      const which = ['api_config_source', 'path', 'path_config_source'].find((k) => source[k] !== undefined) ?? 'nothing';
      this.error(path, 'config_source.ads', `names ${which}: the relay's own policy is ADS only (config_source.ads or self)`);
    }
    this.apiVersion(source.resource_api_version, `${path}.resource_api_version`);
  }

  /** An ApiVersion field: AUTO (unset) means v3 (config_source.proto); V2 is no longer supported. */
  private apiVersion(version: unknown, path: string): void {
    const value = text(version) || 'AUTO';
    if (value !== 'V3' && value !== 'AUTO') this.error(path, 'config_source.v3', `must be V3 or AUTO (v3), got ${value}: v2 is no longer supported`);
  }

  /**
   * Envoy: RouteMatcher::RouteMatcher (source/common/router/config_impl.cc) lower-cases every
   * domain and throws "Only unique values for domains are permitted. Duplicate entry of domain X
   * in route Y" for a repeated exact, `*suffix` or `prefix*` domain, and "Only a single wildcard
   * domain is permitted in route Y" for a second `*`.
   */
  private routeConfiguration(config: Plain, path: string): void {
    const seen = new Map<string, string>();
    list(config.virtual_hosts).forEach((vhost, v) => {
      list(record(vhost)?.routes).forEach((route, r) => this.weightedClusters(record(record(route)?.route), `${path}.virtual_hosts[${v}].routes[${r}].route`));
      list(record(vhost)?.domains).forEach((domain, d) => {
        const lower = text(domain).toLowerCase();
        const at = `${path}.virtual_hosts[${v}].domains[${d}]`;
        const first = seen.get(lower);
        if (first !== undefined) {
          const message = lower === '*' ? `only a single wildcard domain is permitted in route ${text(config.name)} (first at ${first})` : `only unique values for domains are permitted: duplicate entry of domain ${lower} in route ${text(config.name)} (first at ${first})`;
          this.error(at, 'route.domains_unique', message);
        } else seen.set(lower, at);
      });
    });
  }

  /**
   * Envoy: WeightedClusterEntry handling in RouteEntryImplBase (source/common/router/config_impl.cc)
   * throws "Sum of weights in the weighted_cluster must be greater than 0." (an absent weight is 0);
   * gRPC's A28 (xDS traffic splitting) rejects a zero sum and one above 2^32-1 alike.
   */
  private weightedClusters(action: Plain | undefined, path: string): void {
    const weighted = record(action?.weighted_clusters);
    if (!weighted) return;
    const sum = list(weighted.clusters).reduce<number>((total, w) => total + Number(record(record(w)?.weight)?.value ?? 0), 0);
    if (sum <= 0) this.error(`${path}.weighted_clusters`, 'route.weighted_clusters_sum', 'sum of weights in the weighted_cluster must be greater than 0');
    else if (sum > 0xffff_ffff) this.error(`${path}.weighted_clusters`, 'route.weighted_clusters_sum', `sum of weights in the weighted_cluster is ${sum}, above the 32-bit limit`);
  }

  private cluster(cluster: Plain, path: string): void {
    const type = text(cluster.type) || (cluster.cluster_type ? 'cluster_type' : 'STATIC');
    const eds = record(cluster.eds_cluster_config);
    // Envoy: EdsClusterFactory::createClusterImpl (source/extensions/clusters/eds/eds.cc):
    // "cannot create an EDS cluster without an EDS config"; ClusterFactoryImplBase::create
    // (source/common/upstream/cluster_factory_impl.cc): "eds_cluster_config set in a non-EDS cluster".
    if (type === 'EDS') {
      if (!eds) this.error(`${path}.eds_cluster_config`, 'cluster.eds_config', 'cannot create an EDS cluster without an EDS config');
      else this.configSource(record(eds.eds_config), `${path}.eds_cluster_config.eds_config`);
    } else if (eds) {
      this.error(`${path}.eds_cluster_config`, 'cluster.eds_config', 'eds_cluster_config set in a non-EDS cluster');
    }
    list(cluster.health_checks).forEach((hc, i) => this.healthCheck(cluster, record(hc) ?? {}, `${path}.health_checks[${i}]`));
  }

  /**
   * Envoy: HealthCheckerFactory::create (source/common/upstream/health_checker_impl.cc) refuses a
   * health check without a checker ("invalid cluster config") and a gRPC check on a cluster
   * without HTTP/2 ("X cluster must support HTTP/2 for gRPC healthchecking"); timeout and interval
   * are required and > 0 (PGV on HealthCheck; a zero interval would make the checker spin).
   */
  private healthCheck(cluster: Plain, hc: Plain, path: string): void {
    for (const field of ['timeout', 'interval'] as const) {
      const value = nanos(hc[field]);
      if (value === undefined) this.error(`${path}.${field}`, 'health_check.complete', `an active health check needs a ${field}`);
      else if (value <= 0n) this.error(`${path}.${field}`, 'health_check.complete', `${field} must be greater than 0`);
    }
    const checkers = ['http_health_check', 'tcp_health_check', 'grpc_health_check', 'custom_health_check'].filter((k) => hc[k] !== undefined);
    if (checkers.length === 0) this.error(path, 'health_check.complete', 'invalid cluster config: no health checker (http_health_check, tcp_health_check or grpc_health_check)');
    if (hc.grpc_health_check !== undefined && !this.speaksHttp2(cluster)) {
      this.error(`${path}.grpc_health_check`, 'health_check.grpc_http2', `${text(cluster.name)} cluster must support HTTP/2 for gRPC healthchecking`);
    }
  }

  /**
   * The cluster has Envoy's HTTP2 feature: the deprecated Cluster.http2_protocol_options, or
   * HttpProtocolOptions with explicit_http_config or use_downstream_protocol_config holding
   * http2_protocol_options, or any auto_config (Envoy: useHttp2, source/extensions/upstreams/http/config.cc).
   */
  speaksHttp2(cluster: Plain): boolean {
    if (cluster.http2_protocol_options !== undefined) return true;
    const options = record(cluster.typed_extension_protocol_options) ?? {};
    return Object.values(options).some((any) => {
      const unpacked = unpackAny(this.root, record(any));
      if (unpacked?.typeName !== HTTP_PROTOCOL_OPTIONS_TYPE) return false;
      const { explicit_http_config: explicit, use_downstream_protocol_config: downstream, auto_config: auto } = unpacked.value;
      return record(explicit)?.http2_protocol_options !== undefined || record(downstream)?.http2_protocol_options !== undefined || record(auto) !== undefined;
    });
  }

  // ---- across the resources of one profile's snapshot ------------------------------------------

  /**
   * References between resources: a listener's RDS name and an EDS cluster's assignment must be in
   * the snapshot (or the client waits for them: Envoy keeps the listener or cluster warming until
   * its initial_fetch_timeout, gRPC fails the channel); a route's cluster must exist. Route →
   * cluster is an error for proxyless gRPC (the client fails RPCs routed there) and where
   * validate_clusters is on — set, or by default for a route configuration inline in the HCM
   * (Envoy: "route: unknown cluster 'X'", source/common/router/config_impl.cc); otherwise a
   * warning, since Envoy accepts RDS routes to unknown clusters and answers 503.
   */
  snapshot(resources: Readonly<Record<ResourceKind, ReadonlyMap<string, Plain>>>): void {
    const routeNames = new Set(resources.route.keys());
    const clusterNames = new Set(resources.cluster.keys());
    const assignmentNames = new Set(resources.endpoint.keys());
    for (const [name, listener] of resources.listener) {
      const at = `Listener(${name})`;
      for (const { hcm, path } of this.hcmsOf(listener, at)) {
        const rds = record(hcm.rds);
        const rdsName = text(rds?.route_config_name);
        if (rds && !routeNames.has(rdsName)) this.error(`${path}.rds.route_config_name`, 'snapshot.rds_exists', `names route configuration ${JSON.stringify(rdsName)}, which the snapshot does not have`);
        const inline = record(hcm.route_config);
        if (inline) this.routeClusters(inline, `${path}.route_config`, clusterNames, true);
      }
    }
    // Envoy: ListenerManagerImpl::addOrUpdateListenerInternal (source/common/listener_manager/listener_manager_impl.cc)
    // refuses a second listener on an address another listener already has ("… has duplicate address …").
    const bound = new Map<string, string>();
    for (const [name, listener] of resources.listener) {
      const socket = record(record(listener.address)?.socket_address);
      if (!socket) continue;
      const key = `${text(socket.protocol) || 'TCP'} ${text(socket.address)}:${String(socket.port_value ?? 0)}`;
      const other = bound.get(key);
      if (other !== undefined) this.error(`Listener(${name}).address`, 'snapshot.listener_address_unique', `has duplicate address ${key} as listener ${other}`);
      else bound.set(key, name);
    }
    for (const [name, config] of resources.route) this.routeClusters(config, `RouteConfiguration(${name})`, clusterNames, false);
    for (const [name, cluster] of resources.cluster) {
      if (cluster.type !== 'EDS') continue;
      const serviceName = text(record(cluster.eds_cluster_config)?.service_name) || name;
      if (!assignmentNames.has(serviceName)) this.error(`Cluster(${name}).eds_cluster_config`, 'snapshot.eds_exists', `needs ClusterLoadAssignment ${JSON.stringify(serviceName)}, which the snapshot does not have`);
    }
  }

  /** `validate_clusters` defaults to true for a route configuration inline in the HCM, false for RDS (route.proto). */
  private routeClusters(config: Plain, path: string, clusters: ReadonlySet<string>, inline: boolean): void {
    const explicit = record(config.validate_clusters);
    const validate = explicit ? explicit.value === true : inline;
    list(config.virtual_hosts).forEach((vhost, v) => {
      list(record(vhost)?.routes).forEach((route, r) => {
        const action = record(record(route)?.route);
        const named: Array<[string, string]> = [];
        if (typeof action?.cluster === 'string') named.push([action.cluster, 'route.cluster']);
        list(record(action?.weighted_clusters)?.clusters).forEach((w, i) => named.push([text(record(w)?.name), `route.weighted_clusters.clusters[${i}].name`]));
        for (const [cluster, field] of named) {
          if (clusters.has(cluster)) continue;
          const at = `${path}.virtual_hosts[${v}].routes[${r}].${field}`;
          const message = `routes to cluster ${JSON.stringify(cluster)}, which the snapshot does not have`;
          if (this.profile === 'proxyless-grpc' || validate) this.error(at, 'snapshot.route_cluster_exists', message);
          else this.warning(at, 'snapshot.route_cluster_exists', `${message} (Envoy answers cluster_not_found_response_code, 503 by default)`);
        }
      });
    });
  }

  // ---- the bootstrap ---------------------------------------------------------------------------

  bootstrap(bootstrap: Plain): void {
    const path = 'Bootstrap';
    // Envoy: Config::Utility::checkLocalInfo (source/common/config/utility.cc), run for every xDS
    // subscription: "node 'id' and 'cluster' are required".
    const node = record(bootstrap.node);
    for (const field of ['id', 'cluster'] as const) {
      if (text(node?.[field]) === '') this.error(`${path}.node.${field}`, 'bootstrap.node_identity', `node '${field}' is required for xDS`);
    }
    const clusters = list(record(bootstrap.static_resources)?.clusters).map((c) => record(c) ?? {});
    const byName = new Map<string, Plain>();
    clusters.forEach((c, i) => {
      const name = text(c.name);
      // Envoy: ClusterManagerImpl (source/common/upstream/cluster_manager_impl.cc): "cluster manager: duplicate cluster 'X' found".
      if (byName.has(name)) this.error(`${path}.static_resources.clusters[${i}].name`, 'bootstrap.cluster_unique', `duplicate cluster '${name}' found`);
      byName.set(name, c);
      this.cluster(c, `${path}.static_resources.clusters[${i}]`);
    });
    const dynamic = record(bootstrap.dynamic_resources);
    const ads = record(dynamic?.ads_config);
    const adsUsers = (['lds_config', 'cds_config'] as const).filter((k) => record(dynamic?.[k]) !== undefined);
    for (const k of adsUsers) this.configSource(record(dynamic?.[k]), `${path}.dynamic_resources.${k}`);
    const usesAds = adsUsers.some((k) => record(record(dynamic?.[k])?.ads) !== undefined);
    if (usesAds && !ads) this.error(`${path}.dynamic_resources.ads_config`, 'bootstrap.ads_configured', 'ADS must be configured to support an ADS config source');
    if (ads) this.adsConfig(ads, byName, `${path}.dynamic_resources.ads_config`);
  }

  /**
   * Envoy: Config::Utility::checkApiConfigSourceNames and validateClusterName
   * (source/common/config/utility.cc): a gRPC API config source needs a gRPC service and no
   * cluster_names ("API configs must have either a gRPC service or a cluster name defined",
   * "…::(DELTA_)GRPC must not have a cluster name specified"), and its cluster "must have a
   * statically defined non-EDS cluster: 'X' does not exist, was added via api, or is an EDS
   * cluster". transport_api_version must not be V2 (checkTransportVersion). The gRPC stream needs an
   * HTTP/2 cluster: Envoy does not check that at load (the stream just fails), so it is a warning.
   */
  private adsConfig(ads: Plain, clusters: ReadonlyMap<string, Plain>, path: string): void {
    const apiType = text(ads.api_type);
    if (!['GRPC', 'DELTA_GRPC', 'AGGREGATED_GRPC', 'AGGREGATED_DELTA_GRPC'].includes(apiType)) this.error(`${path}.api_type`, 'bootstrap.ads_grpc', `ADS needs a gRPC api_type, got ${apiType || 'REST (default)'}`);
    this.apiVersion(ads.transport_api_version, `${path}.transport_api_version`);
    const services = list(ads.grpc_services);
    if (list(ads.cluster_names).length > 0) this.error(`${path}.cluster_names`, 'bootstrap.ads_grpc', `${apiType} must not have a cluster name specified`);
    if (services.length === 0) this.error(`${path}.grpc_services`, 'bootstrap.ads_grpc', 'API configs must have either a gRPC service or a cluster name defined');
    services.forEach((service, i) => {
      const envoyGrpc = record(record(service)?.envoy_grpc);
      if (!envoyGrpc) return;
      const name = text(envoyGrpc.cluster_name);
      const cluster = clusters.get(name);
      const at = `${path}.grpc_services[${i}].envoy_grpc.cluster_name`;
      if (!cluster || cluster.type === 'EDS') this.error(at, 'bootstrap.ads_cluster_static', `must have a statically defined non-EDS cluster: '${name}' does not exist, was added via api, or is an EDS cluster`);
      else if (!this.speaksHttp2(cluster)) this.warning(at, 'bootstrap.ads_http2', `cluster '${name}' does not speak HTTP/2: the gRPC stream to the relay cannot work`);
    });
  }
}
