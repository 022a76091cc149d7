/** The shape of one HTTP route of the double; handlers return a `Reply` and never touch the socket. */
import type { Route as HttpRoute } from '../http/route-table';
import type { Authorizer } from './acl';
import type { AclOptions } from './acl';
import type { DoubleCore } from './core';
import type { ReadAnswer } from './queries';

export interface DoubleConfig {
  readonly datacenter: string;
  readonly nodeName: string;
  readonly maxTxnOps: number;
  readonly defaultWaitMs: number;
  readonly maxWaitMs: number;
  readonly acl?: AclOptions;
}

export interface RouteContext {
  readonly core: DoubleCore;
  readonly config: DoubleConfig;
  readonly method: string;
  readonly params: URLSearchParams;
  readonly body: Buffer;
  readonly authz: Authorizer;
  /** Capture groups of the route pattern, URL-decoded. */
  readonly args: readonly string[];
}

export type Reply =
  | { readonly kind: 'json'; readonly status?: number; readonly body: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly kind: 'text'; readonly status: number; readonly body: string }
  /** A read: served once, or held as a blocking query when `?index=` asks for it. */
  | { readonly kind: 'read'; readonly compute: () => ReadAnswer };

export interface Route extends HttpRoute<RouteContext, Reply> {
  readonly pattern: RegExp;
  /** False for endpoints Consul serves without resolving the token (status). */
  readonly acl?: boolean;
  /** Query parameters the double implements here, per method (besides dc, token, pretty); any other is refused with 400. */
  readonly params: Readonly<Record<string, readonly string[]>>;
  /** How the endpoint is named in error messages, e.g. `/v1/health/service/:service`. */
  readonly name: string;
}

export const json = (body: unknown, status = 200, headers?: Readonly<Record<string, string>>): Reply => ({ kind: 'json', status, body, headers });
export const text = (status: number, body: string): Reply => ({ kind: 'text', status, body });
export const read = (compute: () => ReadAnswer): Reply => ({ kind: 'read', compute });

/**
 * The path pattern of a route named by its Consul API path: the path itself, and a trailing
 * `:param` (e.g. `/v1/health/service/:service`) captures the rest of the path.
 */
export function pathPattern(name: string): RegExp {
  const param = /\/:\w+$/.exec(name);
  const fixed = param ? name.slice(0, param.index) : name;
  return new RegExp(`^${fixed.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}${param ? '\\/(.*)' : ''}$`);
}
