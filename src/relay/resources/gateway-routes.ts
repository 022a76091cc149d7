/**
 * The Envoy gateway's RouteConfiguration (`vmss-mesh-gateway`), from the configured routing rules.
 *
 * With rules: one virtual host per distinct rule host (lower-cased; no host or `*` = any host).
 * Inside a virtual host the most specific rule wins: longer path prefixes first, on equal length
 * host-specific rules before any-host rules, then the order given. A host's virtual host also
 * carries every any-host rule, so an any-host rule applies to every host unless a more specific
 * rule takes the request. The HTTP connection manager strips the port from the Host header, so
 * rule hosts name hosts without ports. A rule naming a service the mesh does not have (yet) still
 * routes to its cluster, which the gateway profile emits with no endpoints: clients get 503 until
 * the service appears, and routing never shifts to another rule by accident.
 *
 * Without rules (the default):
 * - exactly one service: `/` on any host → that service;
 * - several services: each service answers on Host `<service>` (e.g. `curl -H 'Host: orders'`),
 *   and any other host gets 404 (no route): guessing a default would send traffic to the wrong
 *   service; Host matching ignores case, so of names differing only in case the first (sorted)
 *   gets the Host;
 * - no service: every request gets 404.
 *
 * Each route's action is the service's (route-actions.ts): its cluster or its scale sets' subset
 * clusters by weight, its retry policy and timeout; gRPC services without a timeout get a route
 * timeout of 0 (disabled): Envoy's default 15 s would cut long streams.
 */
import type { GatewayRoute } from '../mesh-state';
import { GATEWAY_ROUTE_CONFIG_NAME } from './resource-names';
import type { ResourceSpec } from '../xds/resource-kind';
import { gatewayRouteAction } from './route-actions';
import type { ServiceRouting } from './traffic-split';

const ANY_HOST = '*';
const HOST_CHARS = /^[a-z0-9._-]+$/;
const BRACKETED_IPV6 = /^\[[0-9a-f:.]+\]$/;
// RFC 3986 path characters (pchar and '/'), '%' for escapes; no query, fragment or spaces.
const PATH_PREFIX = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;

function hostProblem(host: string): string | undefined {
  if (host === ANY_HOST) return undefined;
  const stars = host.split('*').length - 1;
  if (stars > 1) return 'has more than one "*"';
  const bare = host.startsWith('*') ? host.slice(1) : host.endsWith('*') ? host.slice(0, -1) : host;
  if (stars === 1 && bare === host) return 'may only have "*" at its start or end';
  if (bare === '') return 'is empty';
  if (BRACKETED_IPV6.test(bare)) return undefined;
  if (!HOST_CHARS.test(bare)) return 'may only hold letters, digits, ".", "-", "_" and a leading or trailing "*" (no port: the gateway strips it)';
  return undefined;
}

/** The rule's host as the virtual host domain: lower case, `*` for "any". */
export function ruleHost(rule: GatewayRoute): string {
  const host = rule.host?.trim().toLowerCase();
  return host === undefined || host === '' ? ANY_HOST : host;
}

/** Problems with the rules, each prefixed with its path (`gatewayRoutes[2].pathPrefix: …`); empty = valid. */
export function validateGatewayRoutes(rules: readonly GatewayRoute[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  rules.forEach((rule, i) => {
    const at = `gatewayRoutes[${i}]`;
    if (typeof rule.service !== 'string' || rule.service === '') problems.push(`${at}.service: must name a service`);
    if (typeof rule.pathPrefix !== 'string' || !PATH_PREFIX.test(rule.pathPrefix)) {
      problems.push(`${at}.pathPrefix: ${JSON.stringify(rule.pathPrefix)} must start with "/" and hold only URL path characters`);
    }
    if (rule.host !== undefined && typeof rule.host !== 'string') problems.push(`${at}.host: must be a string`);
    else {
      const why = hostProblem(ruleHost(rule));
      if (why) problems.push(`${at}.host: ${JSON.stringify(rule.host)} ${why}`);
    }
    const key = `${ruleHost(rule)} ${rule.pathPrefix}`;
    const first = seen.get(key);
    if (first !== undefined) problems.push(`${at}: same host and path prefix as gatewayRoutes[${first}]`);
    else seen.set(key, i);
  });
  return problems;
}

/** Services the rules route to, in first-mention order. */
export function servicesNamedByRoutes(rules: readonly GatewayRoute[]): string[] {
  return [...new Set(rules.map((r) => r.service))];
}

/** What the route builder needs to know of each service. */
export interface RoutedService {
  readonly protocol: string;
  /** Where its calls go and its route policy; absent = its one cluster, no policy. */
  readonly routing?: ServiceRouting;
}

function route(service: string, pathPrefix: string, services: ReadonlyMap<string, RoutedService>): Record<string, unknown> {
  const routed = services.get(service);
  return {
    name: `${service}:${pathPrefix}`,
    match: { prefix: pathPrefix },
    route: gatewayRouteAction(service, routed?.protocol, routed?.routing),
  };
}

/**
 * Envoy matches Host case-insensitively and refuses a route configuration in which two virtual
 * hosts share a lower-cased domain (RouteMatcher: "Only unique values for domains are
 * permitted"), which would stop every route update of the gateway. Of services whose names differ
 * only in case, the first in sort order answers on that Host; the others need a routing rule.
 */
function firstOfEachHost(names: readonly string[]): string[] {
  const taken = new Set<string>();
  return names.filter((name) => {
    const host = name.toLowerCase();
    if (taken.has(host)) return false;
    taken.add(host);
    return true;
  });
}

function defaultVirtualHosts(services: ReadonlyMap<string, RoutedService>): Record<string, unknown>[] {
  const names = [...services.keys()].sort();
  if (names.length === 1) return [{ name: ANY_HOST, domains: [ANY_HOST], routes: [route(names[0]!, '/', services)] }];
  return [
    ...firstOfEachHost(names).map((name) => ({ name, domains: [name], routes: [route(name, '/', services)] })),
    { name: ANY_HOST, domains: [ANY_HOST], routes: [] },
  ];
}

interface IndexedRule {
  readonly host: string;
  readonly pathPrefix: string;
  readonly service: string;
  readonly index: number;
}

function mostSpecificFirst(a: IndexedRule, b: IndexedRule): number {
  return b.pathPrefix.length - a.pathPrefix.length || Number(a.host === ANY_HOST) - Number(b.host === ANY_HOST) || a.index - b.index;
}

/**
 * Rules must have passed `validateGatewayRoutes`. `services` holds the mesh's services (and their
 * protocols); the caller emits a cluster for every service the rules name.
 */
export function buildGatewayRouteConfig(services: ReadonlyMap<string, RoutedService>, rules: readonly GatewayRoute[]): ResourceSpec {
  if (rules.length === 0) return { name: GATEWAY_ROUTE_CONFIG_NAME, virtual_hosts: defaultVirtualHosts(services) };
  const indexed: IndexedRule[] = rules.map((r, index) => ({ host: ruleHost(r), pathPrefix: r.pathPrefix, service: r.service, index }));
  const anyHostRules = indexed.filter((r) => r.host === ANY_HOST);
  const hosts = [...new Set(indexed.map((r) => r.host).filter((h) => h !== ANY_HOST))].sort();
  const virtualHost = (host: string, own: readonly IndexedRule[]) => {
    // A host's own rule shadows an any-host rule with the same prefix.
    const ownPrefixes = new Set(own.map((r) => r.pathPrefix));
    const inherited = host === ANY_HOST ? [] : anyHostRules.filter((r) => !ownPrefixes.has(r.pathPrefix));
    const ordered = [...own, ...inherited].sort(mostSpecificFirst);
    return { name: host, domains: [host], routes: ordered.map((r) => route(r.service, r.pathPrefix, services)) };
  };
  return {
    name: GATEWAY_ROUTE_CONFIG_NAME,
    virtual_hosts: [...hosts.map((h) => virtualHost(h, indexed.filter((r) => r.host === h))), virtualHost(ANY_HOST, anyHostRules)],
  };
}
