/**
 * Catalog, health, status and agent routes of the double. Register and deregister validate and
 * authorize like Consul's Catalog endpoint (its errors are plain-text 500s, ACL failures 403s).
 */
import * as catalog from './catalog-ops';
import { decodeDeregister, decodeRegister, parseJsonBody } from './decode';
import * as q from './queries';
import type { Route, RouteContext } from './route';
import { json, read } from './route';
import { MISSING_NODE, OpError } from './world';

function authorize(ctx: RouteContext, resource: 'node' | 'service', name: string): void {
  if (!ctx.authz.allowed(resource, name, 'write')) throw new OpError(ctx.authz.denied(resource, name, 'write'), 403);
}

function register(ctx: RouteContext) {
  const input = decodeRegister(parseJsonBody(ctx.body.toString('utf8'), 'Request decode failed'));
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
  const input = decodeDeregister(parseJsonBody(ctx.body.toString('utf8'), 'Request decode failed'));
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

export const catalogRoutes: readonly Route[] = [
  { methods: ['PUT'], pattern: /^\/v1\/catalog\/register$/, handle: register },
  { methods: ['PUT'], pattern: /^\/v1\/catalog\/deregister$/, handle: deregister },
  { methods: ['GET'], pattern: /^\/v1\/catalog\/datacenters$/, handle: (ctx) => json([ctx.config.datacenter]) },
  {
    methods: ['GET'],
    pattern: /^\/v1\/catalog\/nodes$/,
    handle: (ctx) => read(() => q.catalogNodes(ctx.core.world, q.parseMetaFilter(ctx.params), ctx.authz)),
  },
  {
    methods: ['GET'],
    pattern: /^\/v1\/catalog\/node\/(.*)$/,
    handle: (ctx) => {
      const name = required(ctx.args[0] ?? '', 'node name');
      return read(() => q.catalogNode(ctx.core.world, name, ctx.authz));
    },
  },
  {
    methods: ['GET'],
    pattern: /^\/v1\/catalog\/node-services\/(.*)$/,
    handle: (ctx) => {
      const name = required(ctx.args[0] ?? '', 'node name');
      return read(() => q.catalogNodeServices(ctx.core.world, name, ctx.authz));
    },
  },
  {
    methods: ['GET'],
    pattern: /^\/v1\/catalog\/services$/,
    handle: (ctx) => read(() => q.catalogServices(ctx.core.world, q.parseMetaFilter(ctx.params), ctx.authz)),
  },
  {
    methods: ['GET'],
    pattern: /^\/v1\/catalog\/service\/(.*)$/,
    handle: (ctx) => {
      const name = required(ctx.args[0] ?? '', 'service name');
      return read(() => q.catalogService(ctx.core.world, name, q.parseMetaFilter(ctx.params), ctx.params.getAll('tag'), ctx.authz));
    },
  },
  {
    methods: ['GET'],
    pattern: /^\/v1\/health\/service\/(.*)$/,
    handle: (ctx) => {
      const name = required(ctx.args[0] ?? '', 'service name');
      const passing = ctx.params.has('passing') && !['0', 'false'].includes(ctx.params.get('passing') ?? '');
      return read(() => q.healthService(ctx.core.world, name, q.parseMetaFilter(ctx.params), ctx.params.getAll('tag'), passing, ctx.authz));
    },
  },
  {
    methods: ['GET'],
    pattern: /^\/v1\/health\/node\/(.*)$/,
    handle: (ctx) => {
      const name = required(ctx.args[0] ?? '', 'node name');
      return read(() => q.healthNode(ctx.core.world, name, ctx.authz));
    },
  },
  {
    methods: ['GET'],
    pattern: /^\/v1\/health\/checks\/(.*)$/,
    handle: (ctx) => {
      const name = required(ctx.args[0] ?? '', 'service name');
      return read(() => q.healthChecks(ctx.core.world, name, q.parseMetaFilter(ctx.params), ctx.authz));
    },
  },
  {
    methods: ['GET'],
    pattern: /^\/v1\/health\/state\/(.*)$/,
    handle: (ctx) => {
      const state = ctx.args[0] ?? '';
      q.healthState(ctx.core.world, state, [], ctx.authz); // validates the state before blocking
      return read(() => q.healthState(ctx.core.world, state, q.parseMetaFilter(ctx.params), ctx.authz));
    },
  },
  { methods: ['GET'], pattern: /^\/v1\/status\/leader$/, acl: false, handle: () => json('127.0.0.1:8300') },
  { methods: ['GET'], pattern: /^\/v1\/status\/peers$/, acl: false, handle: () => json(['127.0.0.1:8300']) },
  {
    methods: ['GET'],
    pattern: /^\/v1\/agent\/self$/,
    handle: (ctx) =>
      json({
        Config: { Datacenter: ctx.config.datacenter, NodeName: ctx.config.nodeName, NodeID: '', Server: true, Version: '1.17.0-double' },
        Member: { Name: ctx.config.nodeName, Addr: '127.0.0.1', Port: 8301, Status: 1, Tags: { dc: ctx.config.datacenter, role: 'consul' } },
        Meta: {},
      }),
  },
];
