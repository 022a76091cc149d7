/**
 * What differs between the node we want and the node Consul holds. An empty list means "equal",
 * which is what makes planning idempotent: a plan applied and planned again plans nothing.
 */
import type { DesiredNode, DesiredService } from '../model';

/**
 * Names of the differing parts, in a fixed order: `address`, `instance-resource-id`, `node-meta`,
 * `service-added:<id>`, `service-removed:<id>`, `service-changed:<id>:<name|port|tags|meta>`,
 * `check-status`, `check-output`, `draining`.
 */
export function nodeChanges(desired: DesiredNode, actual: DesiredNode): string[] {
  const changes: string[] = [];
  if (desired.address !== actual.address) changes.push('address');
  if (desired.instanceResourceId.toLowerCase() !== actual.instanceResourceId.toLowerCase()) changes.push('instance-resource-id');
  if (!sameRecord(desired.nodeMeta, actual.nodeMeta)) changes.push('node-meta');
  changes.push(...serviceChanges(desired.services, actual.services));
  if (desired.azureCheck.status !== actual.azureCheck.status) changes.push('check-status');
  if (desired.azureCheck.output !== actual.azureCheck.output) changes.push('check-output');
  if (desired.draining !== actual.draining) changes.push('draining');
  return changes;
}

function serviceChanges(desired: readonly DesiredService[], actual: readonly DesiredService[]): string[] {
  const wanted = byId(desired);
  const held = byId(actual);
  const ids = [...new Set([...wanted.keys(), ...held.keys()])].sort();
  const changes: string[] = [];
  for (const id of ids) {
    const want = wanted.get(id);
    const have = held.get(id);
    if (!have) changes.push(`service-added:${id}`);
    else if (!want) changes.push(`service-removed:${id}`);
    else {
      if (want.name !== have.name) changes.push(`service-changed:${id}:name`);
      if (want.port !== have.port) changes.push(`service-changed:${id}:port`);
      if (!sameTags(want.tags, have.tags)) changes.push(`service-changed:${id}:tags`);
      if (!sameRecord(want.meta, have.meta)) changes.push(`service-changed:${id}:meta`);
    }
  }
  return changes;
}

function byId(services: readonly DesiredService[]): Map<string, DesiredService> {
  // Consul keeps one service per ID on a node; should a reader hand us duplicates, the last wins as in Consul.
  return new Map(services.map((s) => [s.id, s]));
}

/** Tags are compared as sets: Consul does not promise to keep their order, and order means nothing to us. */
function sameTags(a: readonly string[], b: readonly string[]): boolean {
  const left = [...new Set(a)].sort();
  const right = [...new Set(b)].sort();
  return left.length === right.length && left.every((tag, i) => tag === right[i]);
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}
