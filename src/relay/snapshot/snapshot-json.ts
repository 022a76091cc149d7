/**
 * Snapshots as JSON for people (the admin API's `/debug/config_dump`): every resource decoded
 * with Envoy's types, typed configs shown with their `@type`, enums by name.
 */
import { envoyType } from '../xds/envoy-protos';
import { XDS_KINDS } from '../xds/kinds';
import { type EncodedResource, RESOURCE_KINDS, type ResourceKind } from '../xds/resource-kind';
import type { Snapshot } from './snapshot-types';

export interface ResourceJson {
  readonly name: string;
  readonly version: string;
  readonly resource: Record<string, unknown>;
}

export interface SnapshotJson {
  readonly version: string;
  readonly resources: Readonly<Record<ResourceKind, readonly ResourceJson[]>>;
}

export function resourceToJson(resource: EncodedResource): Record<string, unknown> {
  const type = envoyType(XDS_KINDS[resource.kind].typeName);
  return type.toObject(type.decode(resource.bytes), { json: true, enums: String, longs: String, bytes: String });
}

export function snapshotToJson(snapshot: Snapshot): SnapshotJson {
  const resources = {} as Record<ResourceKind, ResourceJson[]>;
  for (const kind of RESOURCE_KINDS) {
    resources[kind] = [...snapshot.resources[kind].values()].map((r) => ({ name: r.name, version: r.version, resource: resourceToJson(r) }));
  }
  return { version: snapshot.version, resources };
}
