/**
 * A small model of Consul's ACL system for the double: tokens with per-resource access and
 * longest-prefix key rules, default deny. Enough to reproduce what clients see: an unknown token
 * is `403 ACL not found`; a known token without the right is `403 Permission denied: …`; list
 * reads are filtered rather than refused (with `X-Consul-Results-Filtered-By-ACLs`).
 */

export type AclAccess = 'deny' | 'read' | 'write';

export interface AclTokenSpec {
  /** The secret clients send (X-Consul-Token, ?token= or Authorization: Bearer). */
  readonly secretId: string;
  readonly accessorId?: string;
  /** KV rules by key prefix ('' = every key); the longest matching prefix wins. */
  readonly key?: Readonly<Record<string, AclAccess>>;
  readonly node?: AclAccess;
  readonly service?: AclAccess;
}

export interface AclOptions {
  readonly tokens: readonly AclTokenSpec[];
  /** Rights of requests without a token (Consul's anonymous token); deny-all by default. */
  readonly anonymous?: Omit<AclTokenSpec, 'secretId' | 'accessorId'>;
}

export type AclResource = 'key' | 'node' | 'service';

export const ACL_NOT_FOUND = 'ACL not found';
const ANONYMOUS_ACCESSOR = '00000000-0000-0000-0000-000000000002';

export class Authorizer {
  constructor(
    private readonly spec: Omit<AclTokenSpec, 'secretId'> | 'allow-all',
    readonly accessorId: string,
  ) {}

  static allowAll(): Authorizer {
    return new Authorizer('allow-all', '');
  }

  allowed(resource: AclResource, name: string, level: 'read' | 'write'): boolean {
    if (this.spec === 'allow-all') return true;
    const access = resource === 'key' ? keyAccess(this.spec.key ?? {}, name) : (this.spec[resource] ?? 'deny');
    return access === 'write' || (access === 'read' && level === 'read');
  }

  /** Consul's PermissionDeniedError wording. */
  denied(resource: AclResource, name: string, level: 'read' | 'write'): string {
    return `Permission denied: token with AccessorID '${this.accessorId}' lacks permission '${resource}:${level}' on ${JSON.stringify(name)}`;
  }
}

/** Resolves the request's token; `null` means the secret is unknown (→ 403 ACL not found). */
export function resolveToken(acl: AclOptions | undefined, secret: string): Authorizer | null {
  if (!acl) return Authorizer.allowAll();
  if (secret === '') return new Authorizer(acl.anonymous ?? {}, ANONYMOUS_ACCESSOR);
  const token = acl.tokens.find((t) => t.secretId === secret);
  if (!token) return null;
  return new Authorizer(token, token.accessorId ?? `accessor-${token.secretId.slice(0, 8)}`);
}

function keyAccess(rules: Readonly<Record<string, AclAccess>>, key: string): AclAccess {
  let best: string | undefined;
  for (const prefix of Object.keys(rules)) {
    if (key.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  return best === undefined ? 'deny' : (rules[best] ?? 'deny');
}
