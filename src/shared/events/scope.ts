/**
 * The configured scope (subscriptions, resource groups) as a matcher built once per delivery.
 * Empty lists mean "everything". Tag selection cannot be checked here: tags live on the scale
 * set in ARM, so they are checked at reconcile time (`events explain` says so).
 */
import type { ScopeConfig } from '../config';

export interface ScopeMatcher {
  /** `undefined` when in scope, otherwise why not. IDs are compared lower-case. */
  check(subscriptionId: string, resourceGroup: string): 'out-of-scope-subscription' | 'out-of-scope-resource-group' | undefined;
  readonly describe: string;
}

export const EVERYTHING: ScopeConfig = { subscriptions: [], resourceGroups: [] };

export function scopeMatcher(scope: ScopeConfig): ScopeMatcher {
  const subscriptions = scope.subscriptions.length > 0 ? new Set(scope.subscriptions.map((s) => s.toLowerCase())) : undefined;
  const resourceGroups = scope.resourceGroups.length > 0 ? new Set(scope.resourceGroups.map((g) => g.toLowerCase())) : undefined;
  const list = (set: Set<string> | undefined) => (set ? [...set].join(', ') : 'all');
  return {
    describe: `subscriptions: ${list(subscriptions)}; resource groups: ${list(resourceGroups)}`,
    check(subscriptionId, resourceGroup) {
      if (subscriptions && !subscriptions.has(subscriptionId.toLowerCase())) return 'out-of-scope-subscription';
      if (resourceGroups && !resourceGroups.has(resourceGroup.toLowerCase())) return 'out-of-scope-resource-group';
      return undefined;
    },
  };
}
