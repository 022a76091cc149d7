/**
 * A route table's look-up, for the sandbox's HTTP servers: the first route whose path matches and
 * that takes the method; otherwise, when the path matched other methods, the methods it allows
 * (a 405 with `Allow`); otherwise nothing (a 404). How a path matches is the server's own (a
 * regular expression, ARM's case-insensitive segments, …).
 */

export interface RouteMethods {
  readonly methods: readonly string[];
}

/** A route: its name (for logs and error messages), its methods and its handler; each server adds how it matches. */
export interface Route<Context, Reply> extends RouteMethods {
  readonly name: string;
  handle(ctx: Context): Reply;
}

export type RouteLookup<R, M> = { readonly route: R; readonly match: M } | { readonly allowed: readonly string[] } | undefined;

export function findRoute<R extends RouteMethods, M>(routes: readonly R[], method: string, matchPath: (route: R) => M | undefined): RouteLookup<R, M> {
  const allowed = new Set<string>();
  for (const route of routes) {
    const match = matchPath(route);
    if (match === undefined) continue;
    if (route.methods.includes(method)) return { route, match };
    for (const m of route.methods) allowed.add(m);
  }
  return allowed.size > 0 ? { allowed: [...allowed] } : undefined;
}
