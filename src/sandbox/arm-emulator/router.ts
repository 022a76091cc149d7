/**
 * Route table plumbing: ARM paths are matched segment by segment, case-insensitively (clients send
 * `resourceGroups` or `resourcegroups`, `Microsoft.Compute` or `microsoft.compute`), and parameter
 * values keep the casing the client used.
 */
import { findRoute as findInTable } from '../http/route-table';
import type { Route as TableRoute, RouteLookup } from '../http/route-table';
import { ArmEmulatorError, notFound } from './arm-error';
import type { JsonOptions } from './arm-json';
import { pageOfSorted, sortByKey } from './paging';
import type { Keyed } from './paging';
import type { ArmWorld } from './world';
import type { EmulatedScaleSet, OperationOrigin } from './world-types';

export interface RouteContext {
  readonly world: ArmWorld;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Parsed JSON body, `undefined` when there was none. */
  readonly body: unknown;
  readonly method: string;
  /** Path as sent, without query. */
  readonly path: string;
  /** Full request URL (for operation records). */
  readonly url: string;
  readonly baseUrl: string;
  readonly pageSize: number;
  readonly json: JsonOptions;
  readonly correlationId: string;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** An ARM route: the shared route table's route, matched by its `/a/{x}/b` pattern. */
export interface Route extends TableRoute<RouteContext, Reply> {
  readonly pattern: string;
}

export function route(name: string, method: string, pattern: string, handle: (ctx: RouteContext) => Reply): Route {
  return { name, methods: [method], pattern, handle };
}

/** Matches `/a/{x}/b` against a path; returns the parameters or `undefined`. */
export function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const w = want[i] as string;
    const g = decodeURIComponent(got[i] as string);
    if (w.startsWith('{') && w.endsWith('}')) params[w.slice(1, -1)] = g;
    else if (w.toLowerCase() !== g.toLowerCase()) return undefined;
  }
  return params;
}

/** The route for `method` and `path` (its parameters in `match`), the methods the path allows, or nothing. */
export function findRoute(routes: readonly Route[], method: string, path: string): RouteLookup<Route, Record<string, string>> {
  return findInTable(routes, method, (r) => matchPattern(r.pattern, path));
}

// ---- helpers shared by the handlers ---------------------------------------------------------------

export function param(ctx: RouteContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined) throw new Error(`route has no parameter ${name}`);
  return value;
}

/** 404s for an unknown subscription or resource group, as ARM answers before looking further. */
export function requireScope(ctx: RouteContext): void {
  const sub = param(ctx, 'sub');
  if (!ctx.world.hasSubscription(sub)) throw notFound('SubscriptionNotFound', `The subscription '${sub}' could not be found.`);
  const rg = ctx.params['rg'];
  if (rg !== undefined && !ctx.world.hasResourceGroup(sub, rg)) throw notFound('ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
}

export function requireScaleSet(ctx: RouteContext): EmulatedScaleSet {
  requireScope(ctx);
  const rg = param(ctx, 'rg');
  const name = param(ctx, 'vmss');
  const ss = ctx.world.getScaleSet({ subscriptionId: param(ctx, 'sub'), resourceGroup: rg, name });
  if (!ss) {
    throw notFound(
      'ResourceNotFound',
      `The Resource 'Microsoft.Compute/virtualMachineScaleSets/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  }
  return ss;
}

export function expandsInstanceView(ctx: RouteContext): boolean {
  return (ctx.query.get('$expand') ?? '').toLowerCase() === 'instanceview';
}

/**
 * Sorted listings, per world, while the world does not change: the pages of one listing then sort
 * its items once, not once per page (a resource group's NICs: thousands of keys per page).
 */
const sortedListings = new WeakMap<ArmWorld, { version: number; byRequest: Map<string, readonly Keyed<unknown>[]> }>();
const MAX_SORTED_LISTINGS = 64;

function sortedFor<T>(ctx: RouteContext, items: () => readonly T[], keyOf: (item: T) => string): readonly Keyed<T>[] {
  let cache = sortedListings.get(ctx.world);
  if (cache === undefined || cache.version !== ctx.world.version) {
    cache = { version: ctx.world.version, byRequest: new Map() };
    sortedListings.set(ctx.world, cache);
  }
  const query = new URLSearchParams(ctx.query);
  query.delete('$skiptoken');
  const request = `${ctx.method} ${ctx.path.toLowerCase()}?${query.toString()}`;
  const hit = cache.byRequest.get(request) as readonly Keyed<T>[] | undefined;
  if (hit) return hit;
  const sorted = sortByKey(items(), keyOf);
  if (cache.byRequest.size >= MAX_SORTED_LISTINGS) cache.byRequest.clear();
  cache.byRequest.set(request, sorted);
  return sorted;
}

/** Answers a list with ARM paging; `items` is only read when this listing is not sorted already. */
export function paged<T>(ctx: RouteContext, items: readonly T[] | (() => readonly T[]), keyOf: (item: T) => string, render: (item: T) => unknown): Reply {
  const sorted = sortedFor(ctx, typeof items === 'function' ? items : () => items, keyOf);
  const result = pageOfSorted(sorted, { baseUrl: ctx.baseUrl, path: ctx.path, query: ctx.query, pageSize: ctx.pageSize });
  if ('invalidToken' in result) throw new ArmEmulatorError(400, 'InvalidSkipToken', `The skip token '${result.invalidToken}' is not valid.`);
  return { status: 200, body: { value: result.value.map(render), ...(result.nextLink === undefined ? {} : { nextLink: result.nextLink }) } };
}

/** What the operation record of a REST write says about where it came from. */
export function restOrigin(ctx: RouteContext, resourceUri = ctx.path): OperationOrigin {
  const method = ctx.method as NonNullable<OperationOrigin['httpMethod']>;
  return { origin: 'rest', httpMethod: method, httpUrl: ctx.url, resourceUri: resourceUri.replace(/\/+$/, ''), correlationId: ctx.correlationId };
}

export function invalidBody(message: string): ArmEmulatorError {
  return new ArmEmulatorError(400, 'InvalidRequestContent', message);
}
