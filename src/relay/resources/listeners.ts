/**
 * Listeners and the proxyless route configurations.
 *
 * Both profiles use an HttpConnectionManager whose only HTTP filter is the Router (grpc-js requires
 * the Router to be last, and Envoy needs it to forward at all); routes come over ADS (RDS with
 * `config_source.ads`, API version V3) unless a proxyless listener carries them inline.
 */
import type { BuildOptions, RouteConfigMode } from './build-options';
import {
  anyOf,
  type AnySpec,
  GATEWAY_ROUTE_CONFIG_NAME,
  gatewayListenerName,
  HTTP_CONNECTION_MANAGER_FILTER,
  proxylessListenerName,
  proxylessRouteConfigName,
  ROUTER_FILTER,
  ROUTER_TYPE,
} from './resource-names';
import { HTTP_CONNECTION_MANAGER_TYPE } from '../xds/listener-kind';
import type { ResourceSpec } from '../xds/resource-kind';
import { proxylessRouteAction } from './route-actions';
import type { ServiceRouting } from './traffic-split';

function rds(routeConfigName: string): Record<string, unknown> {
  return { rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: routeConfigName } };
}

function httpConnectionManager(statPrefix: string, fields: Readonly<Record<string, unknown>>): AnySpec {
  return anyOf(HTTP_CONNECTION_MANAGER_TYPE, {
    stat_prefix: statPrefix,
    ...fields,
    http_filters: [{ name: ROUTER_FILTER, typed_config: anyOf(ROUTER_TYPE, {}) }],
  });
}

/** The gateway's HTTP listener: `vmss-mesh-gateway-<port>` on `<address>:<port>`, routes from RDS `vmss-mesh-gateway`. */
export function buildGatewayListener(options: Pick<BuildOptions, 'gatewayListenerPort' | 'gatewayListenerAddress'>): ResourceSpec {
  const hcm = httpConnectionManager('vmss_mesh_gateway', {
    codec_type: 'AUTO',
    // Route hosts are written without ports; `Host: api.example.com:8080` must still match them.
    strip_any_host_port: true,
    ...rds(GATEWAY_ROUTE_CONFIG_NAME),
  });
  return {
    name: gatewayListenerName(options.gatewayListenerPort),
    address: { socket_address: { protocol: 'TCP', address: options.gatewayListenerAddress, port_value: options.gatewayListenerPort } },
    filter_chains: [{ filters: [{ name: HTTP_CONNECTION_MANAGER_FILTER, typed_config: hcm }] }],
  };
}

/**
 * A proxyless service's routes: one virtual host answering `<service>` (the authority of
 * `xds:///<service>`) and `*` (any other authority the client may use for the same listener),
 * sending every call to the service's cluster, or by weight to its scale sets' subset clusters,
 * with the service's retry policy and timeout (route-actions.ts).
 */
export function buildProxylessRouteConfig(service: string, routing?: ServiceRouting): ResourceSpec {
  return {
    name: proxylessRouteConfigName(service),
    virtual_hosts: [{ name: service, domains: [service, '*'], routes: [{ name: 'default', match: { prefix: '/' }, route: proxylessRouteAction(service, routing) }] }],
  };
}

/** The API listener a client dialing `xds:///<service>` asks for. */
export function buildProxylessListener(service: string, mode: RouteConfigMode, routing?: ServiceRouting): ResourceSpec {
  const routes = mode === 'inline' ? { route_config: buildProxylessRouteConfig(service, routing) } : rds(proxylessRouteConfigName(service));
  return {
    name: proxylessListenerName(service),
    api_listener: { api_listener: httpConnectionManager(service, routes) },
  };
}
