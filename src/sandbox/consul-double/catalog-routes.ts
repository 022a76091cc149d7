/**
 * Catalog, health, status and agent routes of the double. Register and deregister validate and
 * authorize like Consul's Catalog endpoint (its errors are plain-text 500s, ACL failures 403s).
 */
import { DEREGISTER_SPEC, REGISTER_SPEC, checkFields } from './body-fields';
import * as catalog from './catalog-ops';
import { decodeDeregister, decodeRegister, parseJsonBody } from './decode';
import { CHECK_SERVICE_NODE, FilterError, HEALTH_CHECK, NODE, NODE_SERVICE, SERVICE_NODE, createFilter } from './filter';
import type { Predicate, StructType } from './filter';
import { coerceValue } from './filter/evaluate';
import * as q from './queries';
import type { ReadAnswer } from './queries';
import type { Reply, Route, RouteContext } from './route';
import { json, pathPattern, read } from './route';
import { READ_PARAMS } from './strict-request';
import { MISSING_NODE, OpError } from './catalog-kv-state';

function authorize(ctx: RouteContext, resource: 'node' | 'service', name: string): void {
  if (!ctx.authz.allowed(resource, name, 'write')) throw new OpError(ctx.authz.denied(resource, name, 'write'), 403);
}

function register(ctx: RouteContext) {
  const body = parseJsonBody(ctx.body.toString('utf8'), 'Request decode failed');
  checkFields(body, REGISTER_SPEC, 'Request decode failed');
  const input = decodeRegister(body);
  if (!input.node.node) throw new OpError('Must provide node');
  if (!input.node.address && !input.skipNodeUpdate) throw new OpError('Must provide address if SkipNodeUpdate is not set');
  const service = input.service && { ...input.service, id: input.service.id || input.service.service };
  if (service && !service.service) throw new OpError('Must provide service name with ID');
  if (!input.skipNodeUpdate) authorize(ctx, 'node', input.node.node);
  if (service) authorize(ctx, 'service', service.service);
  for (const check of input.checks) if (!check.serviceId) authorize(ctx, 'node', check.node);
  ctx.core.commit((w, idx) => {
    if (!input.skipNodeUpdate) catalog.ensureNode(w, idx, input.node, ctx.config.datacenter);
    else if (!w.nodes.has(input.node.node)) throw new OpError(MISSING_NODE);
    if (service) catalog.ensureService(w, idx, input.node.node, service);
    for (const check of input.checks) catalog.ensureCheck(w, idx, check);
  });
  return json(true);
}

function deregister(ctx: RouteContext) {
  const body = parseJsonBody(ctx.body.toString('utf8'), 'Request decode failed');
  checkFields(body, DEREGISTER_SPEC, 'Request decode failed');
  const input = decodeDeregister(body);
  if (!input.node) throw new OpError('Must provide node');
  const w = ctx.core.world;
  if (input.serviceId) {
    const existing = w.services.get(input.node)?.get(input.serviceId);
    authorize(ctx, 'service', existing?.service ?? input.serviceId);
  } else {
    authorize(ctx, 'node', input.node);
  }
  ctx.core.commit((world, idx) => {
    if (input.serviceId) catalog.deleteService(world, idx, input.node, input.serviceId);
    else if (input.checkId) catalog.deleteCheck(world, idx, input.node, input.checkId);
    else catalog.deleteNode(world, idx, input.node);
  });
  return json(true);
}

function required(value: string, what: string): string {
  if (value === '') throw new OpError(`Missing ${what}`, 400);
  return value;
}

/** Reads answer a bad `?filter=` with this status and Consul's message (see `filterOf`). */
export const BAD_FILTER_STATUS = 400;

/**
 * The predicate of `?filter=` over records of type `root` (none when absent or empty, as Consul's
 * parseFilter ignores an empty one). A bad expression or selector is refused before the query runs,
 * with Consul's text (`Failed to create boolean expression evaluator: …`). Real Consul sends that
 * text with status 500 (the error comes back from the server RPC untyped: hashicorp/consul#7338,
 * #9441); the double answers 400 (issue 11 asks for it), which our transport also treats as final.
 */
function filterOf(ctx: RouteContext, root: StructType): Predicate | undefined {
  const expression = ctx.params.get('filter') ?? '';
  if (expression === '') return undefined;
  try {
    return createFilter(expression, root);
  } catch (error) {
    if (error instanceof FilterError) throw new OpError(error.message, BAD_FILTER_STATUS);
    throw error;
  }
}

/** `?passing` (health_endpoint.go): present without a value means true; otherwise strconv.ParseBool. */
function passingOf(params: URLSearchParams): boolean {
  const raw = params.get('passing');
  if (raw === null) return false;
  if (raw === '') return true;
  try {
    return coerceValue(raw, 'bool') === true;
  } catch {
    throw new OpError('Invalid value for ?passing', 400);
  }
}

const NODE_READ = [...READ_PARAMS, 'node-meta', 'filter'];

/** A GET route; its path is its name (see `pathPattern`); `acl: false` for the endpoints Consul serves without a token. */
function getRoute(name: string, params: readonly string[], handle: (ctx: RouteContext) => Reply, acl?: false): Route {
  return { name, methods: ['GET'], params: { GET: params }, pattern: pathPattern(name), ...(acl === false ? { acl } : {}), handle };
}

/**
 * A read of the records named by the path's `:node` or `:service`: the name must not be empty and
 * `?filter=` over `root` is compiled before the query runs (or blocks).
 */
function namedRead(name: string, params: readonly string[], root: StructType, query: (ctx: RouteContext, named: string, keep: Predicate | undefined) => ReadAnswer): Route {
  const what = `${name.slice(name.lastIndexOf(':') + 1)} name`;
  return getRoute(name, params, (ctx) => {
    const named = required(ctx.args[0] ?? '', what);
    const keep = filterOf(ctx, root);
    return read(() => query(ctx, named, keep));
  });
}

export const catalogRoutes: readonly Route[] = [
  { name: '/v1/catalog/register', methods: ['PUT'], params: {}, pattern: pathPattern('/v1/catalog/register'), handle: register },
  { name: '/v1/catalog/deregister', methods: ['PUT'], params: {}, pattern: pathPattern('/v1/catalog/deregister'), handle: deregister },
  getRoute('/v1/catalog/datacenters', [], (ctx) => json([ctx.config.datacenter])),
  getRoute('/v1/catalog/nodes', NODE_READ, (ctx) => {
    const keep = filterOf(ctx, NODE);
    return read(() => q.catalogNodes(ctx.core.world, q.parseMetaFilter(ctx.params), ctx.authz, keep));
  }),
  namedRead('/v1/catalog/node/:node', [...READ_PARAMS, 'filter'], NODE_SERVICE, (ctx, node, keep) => q.catalogNode(ctx.core.world, node, ctx.authz, keep)),
  namedRead('/v1/catalog/node-services/:node', [...READ_PARAMS, 'filter'], NODE_SERVICE, (ctx, node, keep) => q.catalogNodeServices(ctx.core.world, node, ctx.authz, keep)),
  getRoute('/v1/catalog/services', NODE_READ, (ctx) => {
    const keep = filterOf(ctx, SERVICE_NODE);
    return read(() => q.catalogServices(ctx.core.world, q.parseMetaFilter(ctx.params), ctx.authz, keep));
  }),
  namedRead('/v1/catalog/service/:service', [...NODE_READ, 'tag'], SERVICE_NODE, (ctx, service, keep) =>
    q.catalogService(ctx.core.world, service, q.parseMetaFilter(ctx.params), ctx.params.getAll('tag'), ctx.authz, keep),
  ),
  // Not a namedRead: `?passing` is checked between the name and the filter.
  getRoute('/v1/health/service/:service', [...NODE_READ, 'tag', 'passing'], (ctx) => {
    const name = required(ctx.args[0] ?? '', 'service name');
    const passing = passingOf(ctx.params);
    const keep = filterOf(ctx, CHECK_SERVICE_NODE);
    return read(() => q.healthService(ctx.core.world, name, q.parseMetaFilter(ctx.params), ctx.params.getAll('tag'), passing, ctx.authz, keep));
  }),
  namedRead('/v1/health/node/:node', [...READ_PARAMS, 'filter'], HEALTH_CHECK, (ctx, node, keep) => q.healthNode(ctx.core.world, node, ctx.authz, keep)),
  namedRead('/v1/health/checks/:service', NODE_READ, HEALTH_CHECK, (ctx, service, keep) => q.healthChecks(ctx.core.world, service, q.parseMetaFilter(ctx.params), ctx.authz, keep)),
  getRoute('/v1/health/state/:state', NODE_READ, (ctx) => {
    const state = ctx.args[0] ?? '';
    q.healthState(ctx.core.world, state, [], ctx.authz); // validates the state before blocking
    const keep = filterOf(ctx, HEALTH_CHECK);
    return read(() => q.healthState(ctx.core.world, state, q.parseMetaFilter(ctx.params), ctx.authz, keep));
  }),
  getRoute('/v1/status/leader', [], () => json('127.0.0.1:8300'), false),
  getRoute('/v1/status/peers', [], () => json(['127.0.0.1:8300']), false),
  getRoute('/v1/agent/self', [], (ctx) =>
    json({
      Config: { Datacenter: ctx.config.datacenter, NodeName: ctx.config.nodeName, NodeID: '', Server: true, Version: '1.17.0-double' },
      Member: { Name: ctx.config.nodeName, Addr: '127.0.0.1', Port: 8301, Status: 1, Tags: { dc: ctx.config.datacenter, role: 'consul' } },
      Meta: {},
    }),
  ),
];
