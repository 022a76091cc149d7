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
import type { Route, RouteContext } from './route';
import { json, read } from './route';
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

export const catalogRoutes: readonly Route[] = [
  { name: '/v1/catalog/register', methods: ['PUT'], params: {}, pattern: /^\/v1\/catalog\/register$/, handle: register },
  { name: '/v1/catalog/deregister', methods: ['PUT'], params: {}, pattern: /^\/v1\/catalog\/deregister$/, handle: deregister },
  { name: '/v1/catalog/datacenters', methods: ['GET'], params: {}, pattern: /^\/v1\/catalog\/datacenters$/, handle: (ctx) => json([ctx.config.datacenter]) },
  {
    name: '/v1/catalog/nodes',
    methods: ['GET'],
    params: { GET: NODE_READ },
    pattern: /^\/v1\/catalog\/nodes$/,
    handle: (ctx) => {
      const keep = filterOf(ctx, NODE);
      return read(() => q.catalogNodes(ctx.core.world, q.parseMetaFilter(ctx.params), ctx.authz, keep));
    },
  },
  {
    name: '/v1/catalog/node/:node',
    methods: ['GET'],
    params: { GET: [...READ_PARAMS, 'filter'] },
    pattern: /^\/v1\/catalog\/node\/(.*)$/,
    handle: (ctx) => {
      const name = required(ctx.args[0] ?? '', 'node name');
      const keep = filterOf(ctx, NODE_SERVICE);
      return read(() => q.catalogNode(ctx.core.world, name, ctx.authz, keep));
    },
  },
  {
    name: '/v1/catalog/node-services/:node',
    methods: ['GET'],
    params: { GET: [...READ_PARAMS, 'filter'] },
    pattern: /^\/v1\/catalog\/node-services\/(.*)$/,
    handle: (ctx) => {
      const name = required(ctx.args[0] ?? '', 'node name');
      const keep = filterOf(ctx, NODE_SERVICE);
      return read(() => q.catalogNodeServices(ctx.core.world, name, ctx.authz, keep));
    },
  },
  {
    name: '/v1/catalog/services',
    methods: ['GET'],
    params: { GET: NODE_READ },
    pattern: /^\/v1\/catalog\/services$/,
    handle: (ctx) => {
      const keep = filterOf(ctx, SERVICE_NODE);
      return read(() => q.catalogServices(ctx.core.world, q.parseMetaFilter(ctx.params), ctx.authz, keep));
    },
  },
  {
    name: '/v1/catalog/service/:service',
    methods: ['GET'],
    params: { GET: [...NODE_READ, 'tag'] },
    pattern: /^\/v1\/catalog\/service\/(.*)$/,
    handle: (ctx) => {
      const name = required(ctx.args[0] ?? '', 'service name');
      const keep = filterOf(ctx, SERVICE_NODE);
      return read(() => q.catalogService(ctx.core.world, name, q.parseMetaFilter(ctx.params), ctx.params.getAll('tag'), ctx.authz, keep));
    },
  },
  {
    name: '/v1/health/service/:service',
    methods: ['GET'],
    params: { GET: [...NODE_READ, 'tag', 'passing'] },
    pattern: /^\/v1\/health\/service\/(.*)$/,
    handle: (ctx) => {
      const name = required(ctx.args[0] ?? '', 'service name');
      const passing = passingOf(ctx.params);
      const keep = filterOf(ctx, CHECK_SERVICE_NODE);
      return read(() => q.healthService(ctx.core.world, name, q.parseMetaFilter(ctx.params), ctx.params.getAll('tag'), passing, ctx.authz, keep));
    },
  },
  {
    name: '/v1/health/node/:node',
    methods: ['GET'],
    params: { GET: [...READ_PARAMS, 'filter'] },
    pattern: /^\/v1\/health\/node\/(.*)$/,
    handle: (ctx) => {
      const name = required(ctx.args[0] ?? '', 'node name');
      const keep = filterOf(ctx, HEALTH_CHECK);
      return read(() => q.healthNode(ctx.core.world, name, ctx.authz, keep));
    },
  },
  {
    name: '/v1/health/checks/:service',
    methods: ['GET'],
    params: { GET: NODE_READ },
    pattern: /^\/v1\/health\/checks\/(.*)$/,
    handle: (ctx) => {
      const name = required(ctx.args[0] ?? '', 'service name');
      const keep = filterOf(ctx, HEALTH_CHECK);
      return read(() => q.healthChecks(ctx.core.world, name, q.parseMetaFilter(ctx.params), ctx.authz, keep));
    },
  },
  {
    name: '/v1/health/state/:state',
    methods: ['GET'],
    params: { GET: NODE_READ },
    pattern: /^\/v1\/health\/state\/(.*)$/,
    handle: (ctx) => {
      const state = ctx.args[0] ?? '';
      q.healthState(ctx.core.world, state, [], ctx.authz); // validates the state before blocking
      const keep = filterOf(ctx, HEALTH_CHECK);
      return read(() => q.healthState(ctx.core.world, state, q.parseMetaFilter(ctx.params), ctx.authz, keep));
    },
  },
  { name: '/v1/status/leader', methods: ['GET'], params: {}, pattern: /^\/v1\/status\/leader$/, acl: false, handle: () => json('127.0.0.1:8300') },
  { name: '/v1/status/peers', methods: ['GET'], params: {}, pattern: /^\/v1\/status\/peers$/, acl: false, handle: () => json(['127.0.0.1:8300']) },
  {
    name: '/v1/agent/self',
    methods: ['GET'],
    params: {},
    pattern: /^\/v1\/agent\/self$/,
    handle: (ctx) =>
      json({
        Config: { Datacenter: ctx.config.datacenter, NodeName: ctx.config.nodeName, NodeID: '', Server: true, Version: '1.17.0-double' },
        Member: { Name: ctx.config.nodeName, Addr: '127.0.0.1', Port: 8301, Status: 1, Tags: { dc: ctx.config.datacenter, role: 'consul' } },
        Meta: {},
      }),
  },
];
