/**
 * What the double refuses instead of ignoring. Real Consul ignores query parameters and headers it
 * does not know, and those it knows but the double does not model (namespaces, peering, agent
 * caching, `near` sorting, …) would change its answer. A double that silently drops either hides
 * bugs in the caller, so both are answered with 400 and a message naming the parameter.
 */
import { OpError } from './catalog-kv-state';

/** Parameters every endpoint takes (agent/http.go: parseDC, parseToken, and `pretty` in marshalJSON). */
export const COMMON_PARAMS: readonly string[] = ['dc', 'token', 'pretty'];

/** Blocking queries and consistency modes of every read (parseWait, parseConsistency). */
export const READ_PARAMS: readonly string[] = ['index', 'wait', 'stale', 'consistent'];

/** Parameters real Consul honours on some endpoint that the double does not model, with the reason. */
const NOT_MODELLED: Readonly<Record<string, string>> = {
  ns: 'Consul Enterprise namespaces are not modelled',
  partition: 'Consul Enterprise admin partitions are not modelled',
  peer: 'cluster peering is not modelled',
  'sampling-group': 'not modelled',
  cached: 'agent caching is not modelled',
  max_stale: 'agent caching and stale limits are not modelled',
  leader: 'consistency modes other than stale/consistent are not modelled',
  near: 'network coordinates are not modelled',
  'node-meta': 'node-meta is not implemented on this endpoint',
  'merge-central-config': 'config entries are not modelled',
  acquire: 'sessions are not modelled',
  release: 'sessions are not modelled',
  filter: 'this endpoint takes no filter in the Consul double',
  wan: 'WAN federation is not modelled',
  segment: 'network segments are not modelled',
  'index': 'this endpoint is not a blocking query',
  wait: 'this endpoint is not a blocking query',
  stale: 'this endpoint has no consistency modes',
  consistent: 'this endpoint has no consistency modes',
  tag: 'tag filtering is not implemented on this endpoint',
  passing: 'passing is not implemented on this endpoint',
  recurse: 'recurse is not implemented on this endpoint',
  keys: 'keys is not implemented on this endpoint',
  separator: 'separator is only implemented with ?keys',
  raw: 'raw is not implemented on this endpoint',
  cas: 'cas is not implemented on this endpoint',
  flags: 'flags is not implemented on this endpoint',
};

/** Refuses any query parameter outside `allowed` (besides the common ones). */
export function checkQueryParams(params: URLSearchParams, allowed: readonly string[], what: string): void {
  for (const name of new Set(params.keys())) {
    if (COMMON_PARAMS.includes(name) || allowed.includes(name)) continue;
    const reason = NOT_MODELLED[name];
    if (reason !== undefined) {
      throw new OpError(`Invalid query parameter ${JSON.stringify(name)} for ${what}: not implemented by the Consul double (${reason})`, 400);
    }
    throw new OpError(
      `Invalid query parameter ${JSON.stringify(name)} for ${what}: unknown (real Consul ignores unknown parameters; the Consul double refuses them so a misspelt one fails the test)`,
      400,
    );
  }
  if (params.has('stale') && params.has('consistent')) throw new OpError('Cannot specify ?stale with ?consistent, conflicting semantics.', 400);
}

/** Headers of Consul's API the double implements; any other `X-Consul-*` header is refused. */
const IMPLEMENTED_HEADERS = new Set(['x-consul-token']);

const HEADER_REASONS: Readonly<Record<string, string>> = {
  'x-consul-namespace': 'Consul Enterprise namespaces are not modelled',
  'x-consul-partition': 'Consul Enterprise admin partitions are not modelled',
};

export function checkHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): void {
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (!lower.startsWith('x-consul-') || IMPLEMENTED_HEADERS.has(lower)) continue;
    const reason = HEADER_REASONS[lower] ?? 'unknown Consul header';
    throw new OpError(`Invalid header ${JSON.stringify(name)}: not implemented by the Consul double (${reason})`, 400);
  }
}

/** A body on a GET or DELETE, which Consul ignores (it logs a warning), is refused. */
export function checkNoBody(method: string, body: Buffer): void {
  if ((method === 'GET' || method === 'DELETE') && body.length > 0) {
    throw new OpError(`Invalid request: ${method} with a body (Consul ignores it; the Consul double refuses it — send parameters in the query string)`, 400);
  }
}
