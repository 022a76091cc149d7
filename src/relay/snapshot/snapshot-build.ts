/**
 * EncodedResources → an immutable Snapshot: one name-sorted map per kind and a version that is a
 * hash of every resource's kind, name and version (equal version ⇔ same resources).
 */
import { createHash } from 'node:crypto';
import { type EncodedResource, RESOURCE_KINDS, type ResourceKind } from '../xds/resource-kind';
import type { Snapshot } from './snapshot-types';
import { compareStrings } from '../../shared/compare-strings';

const byName = (a: EncodedResource, b: EncodedResource): number => compareStrings(a.name, b.name);

/** Resources must have unique names per kind (the consistency check guarantees it). */
export function snapshotOf(resources: Readonly<Record<ResourceKind, readonly EncodedResource[]>>): Snapshot {
  const hash = createHash('sha256');
  const maps = {} as Record<ResourceKind, ReadonlyMap<string, EncodedResource>>;
  for (const kind of RESOURCE_KINDS) {
    const sorted = [...resources[kind]].sort(byName);
    for (const r of sorted) hash.update(`${kind}\0${r.name}\0${r.version}\n`);
    maps[kind] = new Map(sorted.map((r) => [r.name, r]));
  }
  return Object.freeze({ version: hash.digest('hex').slice(0, 16), resources: Object.freeze(maps) });
}

export function emptySnapshot(): Snapshot {
  return snapshotOf({ cluster: [], endpoint: [], listener: [], route: [] });
}
