/**
 * The gateway's routing rules as one setting (VMSS_MESH_GATEWAY_ROUTES / --gateway-routes):
 *
 *   RULE[,RULE...]        RULE = [HOST]PATH_PREFIX=SERVICE  |  HOST=SERVICE
 *
 *   /=web                           any host, every path → web
 *   api.example.com/v1=api          Host api.example.com, paths starting with /v1 → api
 *   *.example.com/=web              any subdomain of example.com → web
 *   admin.example.com=admin         the whole host (path prefix /) → admin
 *
 * A HOST of `*` means the same as no HOST: any host. Path prefixes cannot hold "," (the separator).
 *
 * How rules match is the route builder's (src/relay/resources/gateway-routes.ts): per host the
 * most specific rule wins (longest prefix, then host-specific before any-host, then the order
 * given), so the order of the rules matters only between equals. Hosts carry no port (the gateway
 * strips it). An empty setting means the default (`/` to the only service). This module is the
 * syntax; what makes a rule valid is checked by the builder's own `validateGatewayRoutes`, so the
 * setting can never accept a rule the builder refuses.
 */
import { ConfigError } from '../../shared/errors';
import type { GatewayRoute } from '../mesh-state';
import { validateGatewayRoutes } from '../resources/gateway-routes';
import { SERVICE_NAME, SERVICE_NAME_RULE } from '../../shared/service-name';

/** Parses the setting; `setting` names it in errors. Hosts are lower-cased, `*` becomes "any host". */
export function parseGatewayRoutes(raw: string, setting = 'VMSS_MESH_GATEWAY_ROUTES'): GatewayRoute[] {
  const routes: GatewayRoute[] = [];
  const items = raw.split(',').map((s) => s.trim());
  if (items.length === 1 && items[0] === '') return routes;
  const firstOf = new Map<string, number>();
  items.forEach((item, i) => {
    const where = `rule ${i + 1} (${JSON.stringify(item)})`;
    if (item === '') throw new ConfigError(`${where}: empty rule (stray comma?)`, setting);
    const eq = item.lastIndexOf('=');
    if (eq < 0) throw new ConfigError(`${where}: expected [HOST]/PATH=SERVICE or HOST=SERVICE`, setting);
    const target = item.slice(0, eq).trim();
    const service = item.slice(eq + 1).trim();
    if (!SERVICE_NAME.test(service)) {
      throw new ConfigError(`${where}: ${JSON.stringify(service)} is not a service name (${SERVICE_NAME_RULE})`, setting);
    }
    const slash = target.indexOf('/');
    const host = (slash < 0 ? target : target.slice(0, slash)).toLowerCase();
    if (host === '' && slash < 0) throw new ConfigError(`${where}: expected [HOST]/PATH=SERVICE or HOST=SERVICE`, setting);
    const pathPrefix = slash < 0 ? '/' : target.slice(slash);
    const route: GatewayRoute = host === '' || host === '*' ? { pathPrefix, service } : { host, pathPrefix, service };
    const problems = validateGatewayRoutes([route]);
    if (problems.length > 0) throw new ConfigError(`${where}: ${problems.map((p) => p.replace(/^gatewayRoutes\[0\]\.?/, '')).join('; ')}`, setting);
    const key = `${route.host ?? '*'} ${pathPrefix}`;
    const first = firstOf.get(key);
    if (first !== undefined) throw new ConfigError(`${where}: same host and path prefix as rule ${first + 1}`, setting);
    firstOf.set(key, i);
    routes.push(route);
  });
  return routes;
}

/** A rule in the setting's own syntax. */
export function describeRoute(route: GatewayRoute): string {
  return `${route.host ?? ''}${route.pathPrefix}=${route.service}`;
}

/** The inverse of `parseGatewayRoutes` for rules it produced. */
export function formatGatewayRoutes(routes: readonly GatewayRoute[]): string {
  return routes.map(describeRoute).join(',');
}
